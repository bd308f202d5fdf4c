"""Property-based tests: the parsers and the validator never crash, and every finding is located."""

from __future__ import annotations

import copy
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plan_reports.config import Config
from plan_reports.issues import Severity
from plan_reports.periods import Period
from plan_reports.trackers import COMMITMENT_COLUMNS, FIRST_ROW, SHEET_COMMITMENTS, SHEET_INDICATORS, indicator_columns
from plan_reports.validate import check_submission, parse_date, parse_fraction, parse_number
from plan_reports.xlsx import open_package, read_values

CELL_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=60), st.dates(), st.datetimes(),
    st.sampled_from(["n/a", "-", "tbc", "45%", "1,234", "31/03/2026", "31/02/2026", "£1,200", "=SUM(A1)", "#DIV/0!",
                     "Final", "Completed", "0.45", " 12 ", "1,23,4", "12%%", "--5", "2025-13-40"]),
)


@given(CELL_VALUES)
def test_parse_number_never_raises_and_explains(raw: Any) -> None:
    p = parse_number(raw)
    assert p.value is None or isinstance(p.value, float)
    if p.value is None and not p.missing:
        assert p.finding is not None and p.finding.code.startswith("C") and p.finding.message


@given(st.floats(-1e9, 1e9, allow_nan=False).map(lambda x: round(x, 4)))
def test_numbers_typed_as_text_read_back_exactly(x: float) -> None:
    assert parse_number(f"{x}").value == pytest.approx(x)
    assert parse_number(f"{x:,}").value == pytest.approx(x)


@given(CELL_VALUES)
def test_parse_date_and_fraction_never_raise(raw: Any) -> None:
    d = parse_date(raw)
    assert d.value is None or isinstance(d.value, date)
    f = parse_fraction(raw)
    assert f.value is None or 0 <= f.value <= 1


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)))
def test_uk_date_text_is_day_first(d: date) -> None:
    p = parse_date(d.strftime("%d/%m/%Y"))
    assert p.value == d and p.finding is not None and p.finding.code == "C005"


@pytest.fixture(scope="module")
def base(samples: dict[str, Path]) -> tuple[Any, dict[str, list[list[Any]]]]:
    pkg = open_package(samples["ET"])
    return pkg, read_values(pkg, [SHEET_INDICATORS, SHEET_COMMITMENTS])


P = Period.parse("2025/26-Q2")
INPUT_I = [i for i, c in enumerate(indicator_columns(P)) if c.input]
INPUT_C = [i for i, c in enumerate(COMMITMENT_COLUMNS) if c.input]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 40), st.integers(0, 30), CELL_VALUES), min_size=1, max_size=25))
def test_random_cell_contents_never_crash_and_findings_are_located(config: Config, base: Any, edits: list) -> None:
    pkg, values = base
    values = copy.deepcopy(values)
    for on_commitments, r, c, v in edits:
        sheet = SHEET_COMMITMENTS if on_commitments else SHEET_INDICATORS
        grid = values[sheet]
        cols = INPUT_C if on_commitments else INPUT_I
        row = FIRST_ROW - 1 + r % max(1, len(grid) - FIRST_ROW + 1)
        grid[row][cols[c % len(cols)]] = v
    rep = check_submission(pkg, values, config, expected_period=P, today=date(2025, 10, 20))
    for issue in rep.issues:
        assert issue.code and issue.message and issue.severity in (Severity.ERROR, Severity.WARNING)
        if issue.code[0] in "CX":
            assert issue.sheet in (SHEET_INDICATORS, SHEET_COMMITMENTS) and issue.cell, issue
    assert len(rep.indicators) + len(rep.commitments) > 0


def test_the_unchanged_grid_is_valid(config: Config, base: Any) -> None:
    pkg, values = base
    assert check_submission(pkg, values, config, expected_period=P, today=datetime(2025, 10, 20).date()).valid


@pytest.fixture(scope="module")
def package_bytes(samples: dict[str, Path]) -> bytes:
    return samples["ET"].read_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, 10**6), flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6))
def test_damaged_packages_are_refused_with_a_code(package_bytes: bytes, tmp_path_factory: pytest.TempPathFactory,
                                                  cut: int, flips: list[tuple[int, int]]) -> None:
    """The package reader (our own central-directory parser) turns any damage into an F-code, never a crash."""
    from plan_reports.xlsx import ReadProblem

    data = bytearray(package_bytes)
    for at, value in flips:
        data[at % len(data)] = value
    if cut % 3 == 0:
        del data[cut % len(data):]
    path = tmp_path_factory.mktemp("damaged") / "Tracker_ET_2025-26-Q2.xlsx"
    path.write_bytes(bytes(data))
    try:
        pkg = open_package(path)
        read_values(pkg, [s for s in (SHEET_INDICATORS, SHEET_COMMITMENTS) if s in pkg.sheets])
    except ReadProblem as e:
        assert e.code.startswith("F") and e.message
