"""Pure parsers of what a lead typed into a cell: numbers, percentages, dates, fractions and text.

Each returns the value it could read and, where the cell needs attention, a `Finding` saying what and why, so the
rules can locate it. Property-tested (tests/test_validate_properties.py): they never raise.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any, NamedTuple

from plan_reports.issues import Severity, severity_of

PLACEHOLDERS = {"n/a", "na", "n.a.", "n.a", "-", "--", "–", "—", "tbc", "tba", "tbd", "tbc.", "unknown", "not known",
                "not available", "nil", "none", "?", "x", "null", "#n/a", "awaiting", "pending"}
UK_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})\s*$")
ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$")
NUMBER_TEXT = re.compile(r"^[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d+)?$")


class Finding(NamedTuple):
    """A problem with a raw cell value, before it is given a location."""

    code: str
    message: str

    @property
    def severity(self) -> Severity:
        return severity_of(self.code)


class Parsed(NamedTuple):
    value: Any
    finding: Finding | None = None
    missing: bool = False  # blank or a placeholder such as n/a


def _describe(raw: Any) -> str:
    s = str(raw)
    return repr(s if len(s) <= 40 else s[:37] + "...")


def parse_number(raw: Any) -> Parsed:
    """A number from whatever a lead typed: 45, '45', '1,234', '45%', '£1,200'; or a finding saying what is wrong."""
    if type(raw) is float or type(raw) is int:  # the usual case, first (bool is neither)
        return Parsed(float(raw)) if raw - raw == 0 else Parsed(None, Finding("C001", "The cell does not hold a valid number."))
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return Parsed(None, missing=True)
    if isinstance(raw, bool):
        return Parsed(None, Finding("C001", f"{raw} (TRUE/FALSE) is not a number."))
    if isinstance(raw, (int, float)):
        if raw != raw or raw in (float("inf"), float("-inf")):
            return Parsed(None, Finding("C001", "The cell does not hold a valid number."))
        return Parsed(float(raw))
    if isinstance(raw, (date, datetime)):
        return Parsed(None, Finding("C001", f"A date ({raw:%d/%m/%Y}) was entered where a number is expected."))
    s = str(raw).strip().replace("\u00a0", " ")
    if s.lower() in PLACEHOLDERS:
        return Parsed(None, Finding("C004", f"{_describe(s)} is not a value. Leave the cell blank, choose a Data status "
                                               "and give the reason there is no value."), missing=True)
    if UK_DATE.match(s) or ISO_DATE.match(s):
        return Parsed(None, Finding("C001", f"{_describe(s)} looks like a date, but a number is expected here."))
    core = s
    percent = core.endswith("%")
    core = core.rstrip("%").strip()
    core = core.lstrip("£$€").strip()
    had_currency = core != s.rstrip("%").strip()
    if NUMBER_TEXT.match(core.replace(" ", "")):
        compact = core.replace(" ", "")
        value = float(compact.replace(",", ""))
        if not math.isfinite(value):  # hundreds of digits read as infinity: not a figure anyone means
            return Parsed(None, Finding("C001", f"{_describe(s)} is too long to be a figure. Type the number only."))
        if "," in compact:
            return Parsed(value, Finding("C003", f"{_describe(s)} has thousands separators typed as text; read as "
                                                    f"{value:g}. Type numbers without commas."))
        what = "a percentage typed as text" if percent else "a currency amount typed as text" if had_currency else \
            "a number stored as text"
        return Parsed(value, Finding("C002", f"{_describe(s)} is {what}; read as {value:g}{'%' if percent else ''}. "
                                                "Type the number only."))
    return Parsed(None, Finding("C001", f"{_describe(s)} is not a number. Type a number only (no words or units)."))


def resolve_percent(value: float, typed_as_percent_text: bool, reference: float | None) -> tuple[float, Finding | None]:
    """Percent indicators are typed as 0-100. A fraction such as 0.45 is ambiguous: resolve it by the history."""
    if typed_as_percent_text or not 0 < abs(value) < 1:
        return value, None
    if reference is not None and abs(reference) >= 1.5 and 0.5 <= abs(value * 100) / abs(reference) <= 2:
        return value * 100, Finding("C008", f"{value:g} read as {value * 100:g}% (it looks like a fraction; recent "
                                               f"values are around {reference:g}%). Type percentages as 0-100, e.g. 45.2.")
    return value, Finding("C008", f"{value:g} is ambiguous: it could mean {value:g}% or {value * 100:g}%. "
                                     "Percentages are typed as 0-100 (45.2 for 45.2%); please confirm.")


def parse_date(raw: Any) -> Parsed:
    """A date from a date cell, or from UK text such as 31/03/2026 (read day first, with a warning)."""
    if type(raw) is datetime:
        return Parsed(raw.date())
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return Parsed(None, missing=True)
    if isinstance(raw, datetime):
        return Parsed(raw.date())
    if isinstance(raw, date):
        return Parsed(raw)
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return Parsed(None, Finding("C014", f"{raw:g} is a number, not a date. Type the date as dd/mm/yyyy."))
    s = str(raw).strip()
    m = UK_DATE.match(s)
    iso = ISO_DATE.match(s)
    try:
        if m:
            d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
            parsed = date(y + 2000 if y < 100 else y, mo, d)
        elif iso:
            parsed = date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        else:
            raise ValueError
    except ValueError:
        return Parsed(None, Finding("C014", f"{_describe(s)} is not a date Excel understands. Type it as dd/mm/yyyy, "
                                               "e.g. 31/03/2026."))
    return Parsed(parsed, Finding("C005", f"{_describe(s)} is a date typed as text; read as {parsed:%d %B %Y}. "
                                             "Type dates so Excel recognises them (dd/mm/yyyy)."))


def parse_fraction(raw: Any) -> Parsed:
    """% complete as a fraction 0-1: accepts 0.45, 45% and 45 (read as 45%)."""
    p = parse_number(raw)
    if p.value is None:
        return p
    text_pct = isinstance(raw, str) and raw.strip().endswith("%")
    v = p.value / 100 if text_pct else p.value
    if 1 < v <= 100 and not text_pct:
        return Parsed(v / 100, Finding("C008", f"{v:g} read as {v:g}%. Type % complete as a percentage, e.g. 45%."))
    if not 0 <= v <= 1:
        return Parsed(None, Finding("C013", f"{_describe(raw)} is not a % complete between 0% and 100%."))
    return Parsed(v, p.finding)


def parse_text(raw: Any) -> str | None:
    if type(raw) is str:
        return raw.strip() or None
    if raw is None:
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, (date, datetime)):
        return f"{raw:%d/%m/%Y}"
    s = str(raw).strip()
    return s or None


