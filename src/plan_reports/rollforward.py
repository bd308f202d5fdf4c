"""Roll a tracker forward from last period's returns, for councils with no history store yet.

Lives beside `trackers` (which builds the workbook from the prefill) but above `validate`, since the returns it
reads are untrusted submissions and are validated (in isolated workers) before anything is carried.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from plan_reports.trackers import carried_update, plan_prefill
from plan_reports.validate import validate_paths

if TYPE_CHECKING:
    from plan_reports.config import Config
    from plan_reports.periods import Period


def previous_returns_prefill(cfg: Config, period: Period, folder: Path) -> dict[str, Any]:
    """Roll-forward from last period's returns when there is no history store: their values and commitment updates."""
    plan = cfg.plan_for_period(period)
    previous = period.previous()
    out = {}
    for rep in sorted(validate_paths([folder], cfg, expected_period=previous), key=lambda r: r.saved_at or ""):
        if not rep.valid or rep.department is None:
            continue
        history = {(v.indicator_id, str(previous)): v.value for v in rep.indicators if v.value is not None}
        carried = {c.commitment_id: carried_update(c._asdict()) for c in rep.commitments}
        out[rep.department] = plan_prefill(plan, rep.department, history, carried)
    return out
