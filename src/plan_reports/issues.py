"""Problems as data: every stage reports findings as `Issue` records with stable codes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


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


def has_errors(issues: Iterable[Issue]) -> bool:
    return any(i.severity is Severity.ERROR for i in issues)
