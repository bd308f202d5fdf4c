"""The consolidate stage: gather a period's submissions into the history store and one consolidated workbook.

Safe to run twice at once (a lock serialises runs on a store), safe to kill (one transaction; the workbook is
written atomically), and idempotent (a file already recorded, by content hash, is not recorded again).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plan_reports.periods import Period
from plan_reports.score import PeriodScores, load_inputs, score_period, scores_dict
from plan_reports.store import ReturnStatus, connect, current_ids, now_iso, store_lock, submissions_for, transaction
from plan_reports.validate import FileReport, find_submissions, validate_files

if TYPE_CHECKING:
    import sqlite3

    from plan_reports.config import Config


@dataclass
class ConsolidationResult:
    period: str
    store: str
    workbook: str | None
    deadline: str
    statuses: list[ReturnStatus]
    new_submissions: int
    already_recorded: int
    reports: list[FileReport] = field(default_factory=list)
    scores: PeriodScores | None = None
    published_version: int | None = None  # the period's latest published snapshot, if any
    locked: bool = False
    restatements_recorded: int = 0  # differences from the published snapshot that this run brought in
    restatements_total: int = 0  # all differences from the published snapshot now

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period, "store": self.store, "workbook": self.workbook, "deadline": self.deadline,
                "new_submissions": self.new_submissions, "already_recorded": self.already_recorded,
                "published_version": self.published_version, "locked": self.locked,
                "restatements_recorded": self.restatements_recorded, "restatements_total": self.restatements_total,
                "returns": [s.__dict__ for s in self.statuses],
                "files": [r.to_dict() for r in self.reports],
                "scores": scores_dict(self.scores) if self.scores else None}


def _mtime(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(microsecond=0).isoformat()


def record(con: sqlite3.Connection, rep: FileReport, period: Period) -> bool:
    """Record one validated file and its values; False if this exact file (by content hash) is already recorded."""
    if rep.sha256 is None:
        import hashlib

        rep.sha256 = hashlib.sha256(Path(rep.path).read_bytes()).hexdigest()
    if con.execute("SELECT 1 FROM submissions WHERE sha256 = ?", (rep.sha256,)).fetchone():
        return False
    errors = sum(1 for i in rep.issues if i.severity.value == "error")
    cur = con.execute(
        "INSERT INTO submissions (sha256, file_name, path, department, team, period, plan_id, template_version, "
        "generated_at, saved_at, file_mtime, recorded_at, accepted, n_errors, n_warnings, issues_json) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (rep.sha256, Path(rep.path).name, str(rep.path), rep.department, rep.team, rep.period or str(period), rep.plan_id,
         rep.template_version, rep.generated_at, rep.saved_at, _mtime(Path(rep.path)), now_iso(), int(rep.valid), errors,
         len(rep.issues) - errors, json.dumps([i.to_dict() for i in rep.issues])))
    sid = cur.lastrowid
    if rep.valid:
        from plan_reports.trackers import COMMITMENT_COLUMNS, SHEET_COMMITMENTS, SHEET_INDICATORS, col_letter, indicator_columns

        value_col = col_letter(indicator_columns(period), "value")  # lineage: the cell each figure was typed in
        status_col = col_letter(COMMITMENT_COLUMNS, "status")
        con.executemany(
            "INSERT INTO indicator_values (submission_id, indicator_id, period, value, numerator, denominator, target, "
            "data_status, reason, data_period, commentary, sheet, cell) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(sid, v.indicator_id, rep.period, v.value, v.numerator, v.denominator, v.target, v.data_status, v.reason,
              v.data_period, v.commentary, SHEET_INDICATORS, f"{value_col}{v.row}") for v in rep.indicators])
        con.executemany(
            "INSERT INTO commitment_updates (submission_id, commitment_id, period, lead_officer, status, percent_complete, "
            "start_date, target_date, completion_date, milestone, achievements, challenges, priorities, sheet, cell) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(sid, c.commitment_id, rep.period, c.lead_officer, c.status, c.percent_complete,
              c.start_date, c.target_date, c.completion_date, c.milestone, c.achievements, c.challenges,
              c.priorities, SHEET_COMMITMENTS, f"{status_col}{c.row}") for c in rep.commitments])
    return True


def return_statuses(con: sqlite3.Connection, cfg: Config, period: Period, today: date) -> list[ReturnStatus]:
    """Who has submitted, who is late, whose return is invalid, who is missing."""
    deadline_end = datetime.combine(cfg.submission_deadline(period), time(23, 59, 59), UTC)
    subs = submissions_for(con, str(period))
    current = current_ids(con, str(period))
    names = {d.id: d.name for d in cfg.organisation.departments}
    keys = {(d.id, "") for d in cfg.organisation.departments if not any(s.department == d.id for s in subs)}
    keys |= {(s.department or "?", s.team) for s in subs}
    out = []
    for dept, team in sorted(keys):
        mine = [s for s in subs if (s.department or "?") == dept and s.team == team]
        if not mine:
            out.append(ReturnStatus(dept, team, names.get(dept, dept), False, None, None, False, False, 0, 0,
                                    today > deadline_end.date(), "Missing", 0))
            continue
        accepted = [s for s in mine if s.id in current]
        shown = accepted[0] if accepted else mine[-1]
        late = datetime.fromisoformat(shown.file_mtime) > deadline_end
        status = ("Accepted (late)" if late else "Accepted") if accepted else "Invalid: not accepted"
        out.append(ReturnStatus(dept, team, names.get(dept, "Unidentified file"), True, shown.file_name, shown.file_mtime,
                                shown.accepted, bool(accepted), shown.n_errors, shown.n_warnings, late, status, len(mine)))
    return out


def consolidate(cfg: Config, period: Period, submissions: Path, store: Path, out_dir: Path | None, *,
                today: date | None = None, progress: Callable[[], None] | None = None,
                notify: Callable[[str], None] | None = None, wait_seconds: float = 600,
                use_cache: bool = False) -> ConsolidationResult:
    """Validate, record, score and write the consolidated workbook for one period."""
    files, _ = find_submissions([submissions])
    with store_lock(store, wait_seconds, notify):
        reports = validate_files(files, cfg, expected_period=period, today=today, progress=progress, use_cache=use_cache)
        con = connect(store)
        try:
            from plan_reports.publish import is_locked, latest_publication, restatement_keys

            pub = latest_publication(con, str(period))
            before = restatement_keys(con, cfg, period) if pub else set()
            from plan_reports.score import agreed_targets_for
            from plan_reports.validate.rules import check_agreed_targets

            agreed = agreed_targets_for(con, period)  # X013: a return's target that differs from the agreed one
            for rep in reports:
                check_agreed_targets(rep, agreed)
            new = 0
            with transaction(con):  # a locked period's returns are still recorded; its published figures stay
                for rep in sorted(reports, key=lambda r: (_mtime(Path(r.path)), str(r.path))):
                    new += record(con, rep, period)
            plan = cfg.plan_for_period(period)
            scores = score_period(cfg, plan, period, load_inputs(con, cfg, plan, period))
            statuses = return_statuses(con, cfg, period, today or date.today())
            result = ConsolidationResult(str(period), str(store), None, cfg.submission_deadline(period).isoformat(),
                                         statuses, new, len(reports) - new, reports, scores)
            if pub:
                after = restatement_keys(con, cfg, period, scores) if new else before
                result.published_version, result.locked = pub["version"], is_locked(con, str(period))
                result.restatements_recorded, result.restatements_total = len(after - before), len(after)
            if out_dir is not None:
                from plan_reports.workbook import write_consolidated

                result.workbook = str(write_consolidated(con, cfg, plan, period, statuses, scores, Path(out_dir)))
        finally:
            con.close()
    return result


