"""UK financial-year reporting periods: `2025/26` (year), `2025/26-Q2` (Q1 = Apr-Jun), `2025/26-H1`.

Pure date arithmetic with no dependencies, so every stage and the scheduler can share it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

Kind = Literal["Y", "H", "Q"]
_RE = re.compile(r"^(\d{4})/(\d{2})(?:-([QH])([1-4]))?$")
_MONTHS = {"Y": 12, "H": 6, "Q": 3}


class PeriodError(ValueError):
    """A period id that is not of the form 2025/26, 2025/26-H1 or 2025/26-Q2."""


def _add_months(d: date, months: int) -> date:
    m = d.month - 1 + months
    return date(d.year + m // 12, m % 12 + 1, 1)


@dataclass(frozen=True, order=True, slots=True)
class Period:
    fy: int  # the calendar year the financial year starts in: 2025 for 2025/26
    kind: Kind
    n: int

    @classmethod
    def parse(cls, text: str) -> Period:
        m = _RE.match(text.strip())
        if not m:
            raise PeriodError(
                f"'{text}' is not a reporting period: use 2025/26 (year), 2025/26-H1 (half) or 2025/26-Q2 (quarter)"
            )
        start, end2, kind, n = int(m.group(1)), int(m.group(2)), m.group(3) or "Y", int(m.group(4) or 1)
        if (start + 1) % 100 != end2:
            raise PeriodError(f"'{text}': a financial year runs into the next year, e.g. {start}/{(start + 1) % 100:02d}")
        if kind == "H" and n > 2:
            raise PeriodError(f"'{text}': a half-year is H1 (Apr-Sep) or H2 (Oct-Mar)")
        return cls(start, kind, n)  # type: ignore[arg-type]

    @classmethod
    def containing(cls, d: date, kind: Kind = "Q") -> Period:
        fy = d.year if d.month >= 4 else d.year - 1
        months_in = (d.month - 4) % 12
        return cls(fy, kind, months_in // _MONTHS[kind] + 1)

    @property
    def year_label(self) -> str:
        return f"{self.fy}/{(self.fy + 1) % 100:02d}"

    def __str__(self) -> str:
        return self.year_label if self.kind == "Y" else f"{self.year_label}-{self.kind}{self.n}"

    @property
    def start(self) -> date:
        return _add_months(date(self.fy, 4, 1), (self.n - 1) * _MONTHS[self.kind])

    @property
    def end(self) -> date:
        return _add_months(self.start, _MONTHS[self.kind]) - timedelta(days=1)

    @property
    def label(self) -> str:
        """Human label, e.g. 'Q2 2025/26 (Jul-Sep 2025)'."""
        if self.kind == "Y":
            return f"{self.year_label} (Apr {self.fy}-Mar {self.fy + 1})"
        span = f"{self.start:%b}-{self.end:%b %Y}"
        return f"{self.kind}{self.n} {self.year_label} ({span})"

    def shift(self, steps: int) -> Period:
        per_year = 12 // _MONTHS[self.kind]
        idx = self.fy * per_year + (self.n - 1) + steps
        return Period(idx // per_year, self.kind, idx % per_year + 1)

    def previous(self) -> Period:
        return self.shift(-1)

    def next(self) -> Period:
        return self.shift(1)

    def year_earlier(self) -> Period:
        return Period(self.fy - 1, self.kind, self.n)

    def quarters(self) -> list[Period]:
        """The quarters this period spans, in order."""
        first = Period.containing(self.start, "Q")
        return [first.shift(i) for i in range(_MONTHS[self.kind] // 3)]

    def half(self) -> Period:
        return Period.containing(self.start, "H")


def is_period_ref(text: str) -> bool:
    """Baselines may cite a financial period or a calendar year (e.g. '2016'), as published."""
    if re.fullmatch(r"\d{4}", text):
        return True
    try:
        Period.parse(text)
    except PeriodError:
        return False
    return True


def period_start(text: str) -> date | None:
    """Where a published or reporting period starts, for ordering series; None if it cannot be dated."""
    span = span_or_none(text)
    return span.start if span else None


def period_end(text: str) -> date | None:
    """Where a period ends: "latest" means the latest end (a rolling year to April beats one to January)."""
    span = span_or_none(text)
    return span.end if span else None


# ---- published periods ------------------------------------------------------------------------------------------

_MONTH_NUMBERS = {m.lower(): i for i, m in enumerate(
    ["", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]) if m}
_MONTH_NUMBERS.update({m.lower(): i for i, m in enumerate(
    ["", "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
     "December"]) if m})
_MON = "(" + "|".join(sorted(_MONTH_NUMBERS, key=len, reverse=True)) + r")\.?"
PUBLISHED_FORMS = (
    "financial years (2021/22, 2021-22, 2021/2022), calendar years (2019), pooled years (2010 - 12, "
    "2018/19 - 22/23), months (2021-07, April 2021), rolling 12 months (Jan 2012-Dec 2012), quarters (Q1 2023/24, "
    "2023/24-Q1, 2023 Q1), half-years (2023/24-H1) and dates (2021-06-30, 30/06/2021)")


def _month_end(y: int, m: int) -> date:
    return _add_months(date(y, m, 1), 1) - timedelta(days=1)


def _full_year(first: int, second: str) -> int | None:
    """The year a two- or four-digit second half names, if it follows `first`."""
    later = int(second) if len(second) == 4 else first - first % 100 + int(second)
    if len(second) == 2 and later < first:
        later += 100
    return later if later > first else None


@dataclass(frozen=True, slots=True)
class Span:
    """A published period as dates: what the source wrote, when it starts and ends, and what kind it is."""

    text: str
    start: date
    end: date
    kind: str  # "financial year", "calendar year", "pooled years", "month", "rolling 12 months", "quarter", ...

    @property
    def label(self) -> str:
        """The period in words, for reports: 'April 2024', '2021/22 (Apr 2021 to Mar 2022)'."""
        s, e = self.start, self.end
        if self.kind == "date":
            return f"at {e.day} {e:%B %Y}"
        if self.kind == "month":
            return f"{s:%B %Y}"
        if self.kind == "calendar year":
            return f"{s.year} (calendar year)"
        if self.kind == "pooled years":
            years = e.year - s.year + (1 if s.month == 1 else 0)
            return f"{self.text.replace(' ', '')} ({years} years pooled, {s:%b %Y} to {e:%b %Y})"
        if self.kind.endswith(" months"):
            return f"{self.kind.split()[-2]} months to {e:%b %Y} ({s:%b %Y} to {e:%b %Y})"
        return f"{self.text} ({s:%b %Y} to {e:%b %Y})"


@lru_cache(maxsize=4096)
def parse_span(text: str, *, months_first: bool = False) -> Span:
    """A published period as a `Span`; PeriodError naming the forms understood if it is none of them.

    Remembered: a scoring run asks for the same few dozen period texts thousands of times (Span is immutable).

    `2011-12` is a financial year unless `months_first` (a file whose other periods are months, such as 2021-07).
    """
    t = " ".join(str(text).replace("\u2013", "-").replace("\u2014", "-").split())
    low = t.lower()
    try:
        p = Period.parse(t)
        kind = {"Y": "financial year", "H": "half-year", "Q": "quarter"}[p.kind]
        return Span(t, p.start, p.end, kind)
    except PeriodError:
        pass
    if m := re.fullmatch(r"(\d{4})", t):
        y = int(m.group(1))
        return Span(t, date(y, 1, 1), date(y, 12, 31), "calendar year")
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", t) or re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", t):
        try:
            d = date(*map(int, m.groups())) if len(m.group(1)) == 4 else \
                date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        except ValueError as e:
            raise PeriodError(f"'{text}' is not a real date") from e
        return Span(t, d, d, "date")
    if m := re.fullmatch(r"(\d{4})-(\d{2})", t):  # a financial year 2021-22, or a month 2021-07
        y, n = int(m.group(1)), int(m.group(2))
        fy = n == (y + 1) % 100
        if 1 <= n <= 12 and (months_first or not fy):
            return Span(t, date(y, n, 1), _month_end(y, n), "month")
        if fy:
            return Span(t, date(y, 4, 1), date(y + 1, 3, 31), "financial year")
    if m := re.fullmatch(r"(\d{4})\s*/\s*(\d{2}|\d{4})", t):
        y = int(m.group(1))
        if _full_year(y, m.group(2)) == y + 1:
            return Span(t, date(y, 4, 1), date(y + 1, 3, 31), "financial year")
    if m := re.fullmatch(r"(\d{4}) ?- ?(\d{2}|\d{4})", t):  # calendar years pooled: 2010 - 12
        y, last = int(m.group(1)), _full_year(int(m.group(1)), m.group(2))
        if last is not None and last - y <= 10:
            return Span(t, date(y, 1, 1), date(last, 12, 31), "pooled years")
    if m := re.fullmatch(r"(\d{4})/(\d{2}) ?- ?(\d{2}|\d{4})/(\d{2})", t):  # financial years pooled: 2018/19 - 22/23
        y = int(m.group(1))
        last = _full_year(y, m.group(3))
        if last is not None and (last + 1) % 100 == int(m.group(4)) and (y + 1) % 100 == int(m.group(2)):
            return Span(t, date(y, 4, 1), date(last + 1, 3, 31), "pooled years")
    if m := re.fullmatch(_MON + r" (\d{4})", low):
        n, y = _MONTH_NUMBERS[m.group(1)], int(m.group(2))
        return Span(t, date(y, n, 1), _month_end(y, n), "month")
    if m := re.fullmatch(_MON + r" ?(\d{4}) ?(?:-|to) ?" + _MON + r" ?(\d{4})", low):
        a, ya, b, yb = _MONTH_NUMBERS[m.group(1)], int(m.group(2)), _MONTH_NUMBERS[m.group(3)], int(m.group(4))
        start, end = date(ya, a, 1), _month_end(yb, b)
        if end > start:
            months = (yb - ya) * 12 + b - a + 1
            return Span(t, start, end, "rolling 12 months" if months == 12 else f"{months} months")
    if m := re.fullmatch(r"q([1-4]) (\d{4})/(\d{2})", low) or re.fullmatch(r"(\d{4})/(\d{2}) ?-? ?q([1-4])", low):
        g = m.groups()
        q, y, y2 = (int(g[0]), int(g[1]), int(g[2])) if low.startswith("q") else (int(g[2]), int(g[0]), int(g[1]))
        if (y + 1) % 100 == y2:
            p = Period(y, "Q", q)
            return Span(t, p.start, p.end, "quarter")
    if m := re.fullmatch(r"q([1-4]) (\d{4})", low) or re.fullmatch(r"(\d{4}) ?-? ?q([1-4])", low):
        g = m.groups()
        q, y = (int(g[0]), int(g[1])) if low.startswith("q") else (int(g[1]), int(g[0]))
        first = date(y, 3 * q - 2, 1)
        return Span(t, first, _month_end(y, 3 * q), "calendar quarter")
    raise PeriodError(f"'{text}' is not a period this program can date. It understands {PUBLISHED_FORMS}.")


def span_or_none(text: str) -> Span | None:
    try:
        return parse_span(text)
    except PeriodError:
        return None
