"""Commitment progress assessed against the time elapsed: the lead's status is kept and flagged, never overridden.

Split from `score` (which uses it for every commitment) so each stays short; pure functions over plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from plan_reports.models import CommitmentScoring
from plan_reports.rollup import EPS, NO_DATA

NOT_RATED = "Not rated"

COMMITMENT_RAG = {"On track": "Green", "Completed": "Green", "Minor disruption": "Amber", "Major disruption": "Red"}


@dataclass(frozen=True, slots=True, kw_only=True)
class CommitmentAssessment:
    status: str  # the lead's status, never overridden
    rag: str  # Green | Amber | Red | Not rated (Deferred) | No data (no status)
    expected_pct: float | None
    flag: str | None  # where the status and the time elapsed disagree
    reason: str


def assess_commitment(status: str | None, pct: float | None, start: date | None, target: date | None,
                      completed: date | None, today: date, cfg: CommitmentScoring) -> CommitmentAssessment:
    """Check the lead's status against time-based expected progress; flag disagreements, never override."""
    if not status:
        return CommitmentAssessment(status="", rag=NO_DATA, expected_pct=None, flag=None, reason="No data: no status reported")
    expected = None
    if start and target and target > start:
        expected = min(1.0, max(0.0, (today - start).days / (target - start).days))
    shown = f"{pct:.0%}" if pct is not None else "no % complete"
    exp_txt = f", {expected:.0%} of the time elapsed" if expected is not None else ""
    if status == "Deferred":
        return CommitmentAssessment(status=status, rag=NOT_RATED, expected_pct=expected, flag=None,
                                    reason="Deferred: excluded from the roll-up")
    if status == "Completed":
        flag = None
        if pct is not None and pct < 1 - EPS:
            flag = f"reported Completed at {shown}"
        elif completed is None:
            flag = "reported Completed with no completion date"
        return CommitmentAssessment(status=status, rag="Green", expected_pct=expected, flag=flag,
                                    reason=f"Completed{f' on {completed:%d/%m/%Y}' if completed else ''}")
    overdue = target is not None and target < today
    flag = None
    if status in ("On track", "Not started") and overdue:
        flag = f"reported {status} but the target date {target:%d/%m/%Y} has passed"
    elif status == "Not started" and start is not None and start < today and expected and expected > cfg.behind_margin_pct / 100:
        flag = f"reported Not started but due to start on {start:%d/%m/%Y}"
    elif status == "On track" and expected is not None and pct is not None and expected - pct > cfg.behind_margin_pct / 100:
        flag = f"reported On track at {shown} with {expected:.0%} of the time elapsed"
    elif status in ("Minor disruption", "Major disruption") and expected is not None and pct is not None \
            and pct - expected > cfg.ahead_margin_pct / 100:
        flag = f"reported {status} but {shown} complete is well ahead of {expected:.0%} of the time elapsed"
    rag = COMMITMENT_RAG.get(status, "Amber" if overdue else "Green")
    return CommitmentAssessment(status=status, rag=rag, expected_pct=expected, flag=flag, reason=f"{status}: {shown}{exp_txt}")
