"""Problems as data: every stage reports findings as `Issue` records with stable codes from one registry.

`CODES` is the registry: each code has one severity, wherever it is raised, and a short description. The README's
table of codes is generated from it (`python scripts/readme_codes.py`), and a test checks that they agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


E, W = Severity.ERROR, Severity.WARNING

CODES: dict[str, tuple[Severity, str]] = {
    "F001": (E, "empty file"),
    "F002": (E, "not a workbook (random bytes)"),
    "F003": (E, "damaged, truncated or ambiguous package"),
    "F004": (E, "CSV renamed as .xlsx"),
    "F005": (E, "HTML/XML renamed as .xlsx"),
    "F006": (E, "legacy .xls"),
    "F007": (E, "password-protected (encrypted)"),
    "F008": (E, "zip bomb (size, ratio, parts)"),
    "F009": (E, "DOCTYPE / XML entities, in any part"),
    "F010": (E, "huge sheet or far-away cell"),
    "F011": (E, "a Word/PowerPoint or other package"),
    "F012": (W, "macro-enabled (values read, macros never run)"),
    "F013": (E, "unreadable, or it stopped the reader (crash, time-out, memory)"),
    "F014": (E, "file too large"),
    "S001": (E, "not a tracker"),
    "S002": (E, "template version unsupported"),
    "S003": (E, "unknown plan"),
    "S004": (E, "unknown department"),
    "S005": (E, "invalid period"),
    "S006": (E, "period outside the plan"),
    "S007": (E, "not the expected period (`--period`)"),
    "S008": (E, "sheet missing or renamed"),
    "S009": (E, "column missing or renamed"),
    "S010": (E, "row added"),
    "S011": (E, "row removed"),
    "S012": (E, "rows reordered"),
    "S013": (E, "id belongs to another department"),
    "S014": (E, "duplicate id"),
    "S015": (W, "file name names another department"),
    "S016": (E, "column moved"),
    "C001": (E, "not a number (words, or a date where a number is expected)"),
    "C002": (W, "number, percentage or currency typed as text (read)"),
    "C003": (W, "thousands separators typed as text (read)"),
    "C004": (E, "placeholder such as n/a, -, tbc"),
    "C005": (W, "a date typed as text (read day first)"),
    "C006": (E, "impossible for the unit (a negative count, 140%)"),
    "C007": (W, "a count that is not a whole number"),
    "C008": (W, "percentage typed as a fraction: resolved by history, or ambiguous"),
    "C009": (E, "formula error (#DIV/0!, #REF!)"),
    "C010": (E, "formula where a value is expected"),
    "C011": (E, "merged cells"),
    "C012": (E, "not one of the dropdown's values"),
    "C013": (E, "% complete outside 0-100%"),
    "C014": (E, "not a date"),
    "C016": (W, "'period the data covers' not a period"),
    "C018": (W, "outside the indicator's plausible range: questioned, not rated"),
    "X001": (E, "no value, and no data status 'Not yet available' with a reason"),
    "X002": (E, "Red indicator without commentary"),
    "X003": (E, "Major disruption without challenges"),
    "X004": (E, "Completed without completion date and 100%"),
    "X005": (W, "target date passed, not completed"),
    "X006": (W, "big jump on the previous period"),
    "X007": (E, "value disagrees with numerator/denominator"),
    "X008": (E, "numerator without denominator, or a zero denominator"),
    "X009": (W, "value with data status 'Not yet available'"),
    "X010": (W, "value with no data status"),
    "X011": (E, "dates out of order"),
    "X012": (E, "no status for a commitment"),
    "X013": (W, "the return's target differs from the agreed target"),
}


def severity_of(code: str) -> Severity:
    """The one severity of a registered code (KeyError for a code nobody registered: a bug, caught by the tests)."""
    return CODES[code][0]


def codes_markdown() -> str:
    """The README's table of codes, from the registry: files and structure beside cells and cross-field rules."""
    left = [c for c in CODES if c[0] in "FS"]
    right = [c for c in CODES if c[0] in "CX"]
    rows = ["| code | what | code | what |", "|---|---|---|---|"]

    def cell(code: str | None) -> str:
        if code is None:
            return "| |"
        sev, what = CODES[code]
        return f"| {code} | {what}{' (warning)' if sev is Severity.WARNING else ''} |"

    for i in range(max(len(left), len(right))):
        a = left[i] if i < len(left) else None
        b = right[i] if i < len(right) else None
        rows.append(cell(a) + cell(b)[1:])
    return "\n".join(rows)


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding. `code` is stable across releases so tools can filter on it."""

    code: str
    severity: Severity
    file: str
    sheet: str | None
    cell: str | None
    message: str

    def to_dict(self) -> dict[str, str | None]:
        d = asdict(self)
        d["severity"] = self.severity.value
        return d

    @property
    def location(self) -> str:
        parts = [p for p in (self.sheet, self.cell) if p]
        return "!".join(parts) if parts else "(file)"


def issue(code: str, file: str, sheet: str | None, cell: str | None, message: str) -> Issue:
    """An Issue with its code's registered severity."""
    return Issue(code, severity_of(code), file, sheet, cell, message)


def has_errors(issues: Iterable[Issue]) -> bool:
    return any(i.severity is Severity.ERROR for i in issues)
