"""UK financial-year reporting periods: `2025/26` (year), `2025/26-Q2` (Q1 = Apr-Jun), `2025/26-H1`.

Pure date arithmetic with no dependencies, so every stage and the scheduler can share it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
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
    """Where a published period starts, for ordering series: 2019/20, 2019/20-Q1, 2019, '2010 - 12'. None if unknown."""
    t = text.strip()
    try:
        return Period.parse(t).start
    except PeriodError:
        pass
    m = re.match(r"^(\d{4})(?:\s*-\s*\d{2,4})?$", t)
    return date(int(m.group(1)), 1, 1) if m else None
