"""What a validated submission yields: its report, and the indicator and commitment returns read from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from plan_reports.issues import Issue, has_errors


class IndicatorReturn(NamedTuple):
    indicator_id: str
    row: int
    value: float | None
    numerator: float | None
    denominator: float | None
    target: float | None
    data_status: str | None
    reason: str | None
    data_period: str | None
    commentary: str | None


class CommitmentReturn(NamedTuple):
    commitment_id: str
    row: int
    lead_officer: str | None
    status: str | None
    percent_complete: float | None
    start_date: str | None  # ISO dates, as the store keeps them (and cheaper to pass between processes)
    target_date: str | None
    completion_date: str | None
    milestone: str | None
    achievements: str | None
    challenges: str | None
    priorities: str | None


@dataclass
class FileReport:
    path: Path
    sha256: str | None = None
    department: str | None = None
    team: str = ""
    period: str | None = None
    plan_id: str | None = None
    template_version: str | None = None
    generated_at: str | None = None
    saved_at: str | None = None
    macro_enabled: bool = False
    issues: list[Issue] = field(default_factory=list)
    indicators: list[IndicatorReturn] = field(default_factory=list)
    commitments: list[CommitmentReturn] = field(default_factory=list)
    readable: bool = True

    @property
    def valid(self) -> bool:
        return self.readable and not has_errors(self.issues)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "valid": self.valid, "department": self.department, "team": self.team,
                "period": self.period,
                "plan": self.plan_id, "template_version": self.template_version, "sha256": self.sha256,
                "issues": [{k: v for k, v in i.to_dict().items() if k != "file"} for i in self.issues]}


