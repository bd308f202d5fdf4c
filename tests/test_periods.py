from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plan_reports.periods import Period, PeriodError, is_period_ref


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2025/26-Q1", date(2025, 4, 1), date(2025, 6, 30)),
        ("2025/26-Q2", date(2025, 7, 1), date(2025, 9, 30)),
        ("2025/26-Q3", date(2025, 10, 1), date(2025, 12, 31)),
        ("2025/26-Q4", date(2026, 1, 1), date(2026, 3, 31)),
        ("2025/26-H1", date(2025, 4, 1), date(2025, 9, 30)),
        ("2025/26-H2", date(2025, 10, 1), date(2026, 3, 31)),
        ("2025/26", date(2025, 4, 1), date(2026, 3, 31)),
        ("1999/00-Q4", date(2000, 1, 1), date(2000, 3, 31)),
    ],
)
def test_financial_year_periods(text: str, start: date, end: date) -> None:
    p = Period.parse(text)
    assert (p.start, p.end, str(p)) == (start, end, text)


@pytest.mark.parametrize("bad", ["2025/27-Q1", "2025-Q1", "2025/26-Q5", "2025/26-H3", "Q2 2025", "", "2025/26Q1"])
def test_bad_period_ids_are_rejected(bad: str) -> None:
    with pytest.raises(PeriodError):
        Period.parse(bad)


def test_previous_and_same_period_last_year() -> None:
    q1 = Period.parse("2025/26-Q1")
    assert str(q1.previous()) == "2024/25-Q4"
    assert str(q1.year_earlier()) == "2024/25-Q1"
    assert str(Period.parse("2025/26-H1").previous()) == "2024/25-H2"
    assert [str(q) for q in Period.parse("2025/26-H2").quarters()] == ["2025/26-Q3", "2025/26-Q4"]
    assert str(Period.parse("2025/26-Q4").half()) == "2025/26-H2"


def test_date_to_period() -> None:
    assert str(Period.containing(date(2026, 3, 31))) == "2025/26-Q4"
    assert str(Period.containing(date(2026, 4, 1))) == "2026/27-Q1"
    assert str(Period.containing(date(2025, 11, 5), "H")) == "2025/26-H2"
    assert Period.parse("2025/26-Q2").label == "Q2 2025/26 (Jul-Sep 2025)"


def test_period_refs_allow_calendar_years_for_published_data() -> None:
    assert is_period_ref("2016") and is_period_ref("2021/22-Q1") and not is_period_ref("Q1")


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)), st.sampled_from(["Q", "H", "Y"]))
def test_containing_period_contains_the_date_and_round_trips(d: date, kind: str) -> None:
    p = Period.containing(d, kind)  # type: ignore[arg-type]
    assert p.start <= d <= p.end
    assert Period.parse(str(p)) == p
    assert p.next().previous() == p
    assert p.previous().end.toordinal() + 1 == p.start.toordinal()
    assert p.year_earlier().start.replace(year=p.start.year) == p.start
