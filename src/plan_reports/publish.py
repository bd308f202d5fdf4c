"""Publication: what the board saw stays what the board saw.

`publish` freezes a scored period in the history store: every indicator's value, target, rating and reason, direction
of travel and quartile, every commitment's status, the roll-ups, the files (by sha-256) they came from with the sheet
and cell of each figure, and who published it and when. A published period is *locked*: later returns for it are
still recorded, but its published figures do not change; each difference from the live data is a *restatement*.
`unlock` (with a reason) opens it again; the next publish makes a new version (or, if nothing changed, relocks the
old one). Earlier versions are never deleted. Decks and reports publish the period they show and record the hash of
every file they write against the snapshot.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plan_reports.periods import Period
from plan_reports.score import (
    CommitmentAssessment,
    CommitmentScore,
    IndicatorScore,
    LevelScore,
    PeriodScores,
    Position,
    Rating,
    Rollup,
    fmt_value,
    load_inputs,
    score_period,
    scores_dict,
)
from plan_reports.store import commitment_updates, connect, store_lock, transaction

if TYPE_CHECKING:
    import sqlite3

    from plan_reports.config import Config

NOT_COVERED = ["target changes: the store has no target register yet, so changes to targets are not in the audit log"]
TARGET_TABLE = "agreed_targets"  # the target register, where the store has one


def stamp() -> str:
    """Now, to the microsecond: publishes and unlocks made in the same second still keep their order."""
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


def who() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name (a service account without one): say so rather than fail
        return "unknown"


# ---- lineage -----------------------------------------------------------------------------------------------------

def _where(r: Any) -> str:
    cell = f", {r['sheet']}!{r['cell']}" if r["cell"] else ", cell not recorded (stored before lineage was kept)"
    return f"{r['file_name']}{cell}"


def lineage(con: sqlite3.Connection, period: str, scores: PeriodScores) -> tuple[dict[str, dict[str, Any]],
                                                                                   dict[str, dict[str, Any]]]:
    """Where each current figure of `period` came from: indicator -> source, commitment -> source."""
    q = """SELECT v.indicator_id, v.sheet, v.cell, s.id AS submission_id, s.file_name, s.sha256, s.department, s.team,
                  s.file_mtime, s.recorded_at FROM indicator_values v JOIN current_submissions s ON s.id = v.submission_id
           WHERE v.period = ?"""
    rows = {(r["indicator_id"], f"{r['file_name']} ({r['sha256'][:8]})"): r for r in con.execute(q, (period,))}
    inds: dict[str, dict[str, Any]] = {}
    for x in scores.indicators:
        r = rows.get((x.indicator_id, x.source))
        if r is not None:
            inds[x.indicator_id] = {"submission_id": r["submission_id"], "file_name": r["file_name"], "sha256": r["sha256"],
                                    "sheet": r["sheet"], "cell": r["cell"], "department": r["department"],
                                    "team": r["team"], "lead_officer": None, "submitted_at": r["file_mtime"],
                                    "recorded_at": r["recorded_at"], "where": _where(r)}
    subs = {r["id"]: r for r in con.execute("SELECT id, file_mtime, recorded_at FROM submissions WHERE period = ?", (period,))}
    comms: dict[str, dict[str, Any]] = {}
    for cid, r in commitment_updates(con, period).items():
        s = subs.get(r["submission_id"])
        comms[cid] = {"submission_id": r["submission_id"], "file_name": r["file_name"], "sha256": r["sha256"],
                      "sheet": r["sheet"], "cell": r["cell"], "department": r["department"], "team": r["team"],
                      "lead_officer": r["lead_officer"], "submitted_at": s["file_mtime"] if s else None,
                      "recorded_at": s["recorded_at"] if s else None, "where": _where(r)}
    return inds, comms


def submitted_values(con: sqlite3.Connection, indicator_id: str, period: str | None = None) -> list[dict[str, Any]]:
    """Every value of an indicator received in a return (superseded ones too), with its file, sheet and cell."""
    q = ("SELECT v.period, v.data_period, v.value, v.target, v.data_status, v.sheet, v.cell, s.id AS submission_id, "
         "s.file_name, s.sha256, s.department, s.team, s.file_mtime AS submitted_at, s.recorded_at, "
         "s.id IN (SELECT id FROM current_submissions) AS current FROM indicator_values v "
         "JOIN submissions s ON s.id = v.submission_id WHERE v.indicator_id = ?" + (" AND v.period = ?" if period else "")
         + " ORDER BY v.period, s.file_mtime, s.id")
    out = [dict(r) for r in con.execute(q, (indicator_id, period) if period else (indicator_id,))]
    for r in out:
        r["current"] = bool(r["current"])
    return out


# ---- snapshots ---------------------------------------------------------------------------------------------------

def live_snapshot(con: sqlite3.Connection, cfg: Config, period: Period,
                  scores: PeriodScores | None = None) -> dict[str, Any]:
    """The period scored from the store as it is now, every item with its lineage: what a publish would freeze."""
    plan = cfg.plan_for_period(period)
    if scores is None:
        scores = score_period(cfg, plan, period, load_inputs(con, cfg, plan, period))
    data = json.loads(json.dumps(scores_dict(scores), default=str))
    inds, comms = lineage(con, str(period), scores)
    for x in data["indicators"]:
        x["lineage"] = inds.get(x["indicator_id"])
    for c in data["commitments"]:
        c["lineage"] = comms.get(c["commitment_id"])
    return data


def digest(snapshot: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(snapshot, sort_keys=True, default=str).encode()).hexdigest()


def _build(cls: type, data: dict[str, Any], **override: Any) -> Any:
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names} | override)


def scores_from_dict(data: dict[str, Any]) -> PeriodScores:
    """A snapshot back into the scores the decks and reports are built from."""
    inds = [_build(IndicatorScore, x, rating=_build(Rating, x["rating"]),
                   position=_build(Position, x["position"]) if x.get("position") else None,
                   history=[tuple(h) for h in x["history"]]) for x in data["indicators"]]
    comms = [_build(CommitmentScore, c, assessment=_build(CommitmentAssessment, c["assessment"]))
             for c in data["commitments"]]
    levels = [_build(LevelScore, lv, indicators=_build(Rollup, lv["indicators"]), commitments=_build(Rollup, lv["commitments"]),
                     overall=_build(Rollup, lv["overall"])) for lv in data["levels"]]
    return PeriodScores(data["period"], data["plan"], inds, comms, levels)


def latest_publication(con: sqlite3.Connection, period: str) -> sqlite3.Row | None:
    return con.execute("SELECT * FROM publications WHERE period = ? ORDER BY version DESC LIMIT 1", (period,)).fetchone()


def open_unlock(con: sqlite3.Connection, period: str) -> sqlite3.Row | None:
    return con.execute("SELECT * FROM unlocks WHERE period = ? AND relocked_at IS NULL ORDER BY id DESC LIMIT 1",
                       (period,)).fetchone()


def is_locked(con: sqlite3.Connection, period: str) -> bool:
    return latest_publication(con, period) is not None and open_unlock(con, period) is None


def publication_meta(con: sqlite3.Connection, pub: sqlite3.Row) -> dict[str, Any]:
    return {"period": pub["period"], "version": pub["version"], "published_at": pub["published_at"],
            "published_by": pub["published_by"], "note": pub["note"], "trigger": pub["trigger"],
            "content_sha256": pub["content_sha256"], "locked": is_locked(con, pub["period"])}


@dataclass
class PublishResult:
    period: str
    status: str  # published | unchanged | relocked | locked | nothing to publish
    version: int | None
    message: str
    publication_id: int | None = None
    published_at: str | None = None
    restatements: int = 0

    @property
    def ok(self) -> bool:
        return self.status in ("published", "unchanged", "relocked")

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period, "status": self.status, "version": self.version, "message": self.message,
                "published_at": self.published_at, "restatements": self.restatements, "ok": self.ok}


def publish(con: sqlite3.Connection, cfg: Config, period: Period, *, note: str | None = None,
            trigger: str = "publish", by: str | None = None) -> PublishResult:
    """Freeze the period as it scores now. Call under the store's lock."""
    p = str(period)
    latest = latest_publication(con, p)
    if latest is None and not con.execute("SELECT 1 FROM current_submissions WHERE period = ?", (p,)).fetchone():
        return PublishResult(p, "nothing to publish", None, f"No accepted return for {p} is in the store, so there is "
                             "nothing to publish. Consolidate the period's returns first.")
    snap = live_snapshot(con, cfg, period)
    h = digest(snap)
    unlock = open_unlock(con, p)
    by = by or who()
    if latest is not None and latest["content_sha256"] == h:
        if unlock is None:
            return PublishResult(p, "unchanged", latest["version"], f"{p} is already published as version "
                                 f"{latest['version']} ({latest['published_at']}) and nothing has changed since; "
                                 "no new version was made.", latest["id"], latest["published_at"])
        with transaction(con):
            con.execute("UPDATE unlocks SET relocked_at = ?, relocked_by = ?, relock_publication_id = ? WHERE id = ?",
                        (stamp(), by, latest["id"], unlock["id"]))
        return PublishResult(p, "relocked", latest["version"], f"Nothing changed since version {latest['version']} "
                             f"of {p}, so no new version was made; the period is locked again.", latest["id"],
                             latest["published_at"])
    if latest is not None and unlock is None:
        n = len(restatements(con, cfg, p, live=snap))
        return PublishResult(p, "locked", latest["version"], f"{p} is locked: version {latest['version']} was published "
                             f"on {latest['published_at'][:10]}. {n} change(s) since are recorded as restatements "
                             "(plan-reports restatements). To publish them as a new version, unlock the period with a "
                             f"reason first: plan-reports unlock --period {p} --reason TEXT", latest["id"],
                             latest["published_at"], n)
    version = (latest["version"] if latest else 0) + 1
    at = stamp()
    with transaction(con):
        pid = con.execute(
            "INSERT INTO publications (period, version, plan_id, published_at, published_by, note, trigger, content_sha256, "
            "scores_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (p, version, snap["plan"], at, by, note, trigger, h, json.dumps(snap, default=str))).lastrowid
        con.executemany(
            "INSERT INTO published_values (publication_id, kind, item_id, value, target, rating, reason, short_term, "
            "long_term, quartile, status, submission_id) VALUES (?, 'indicator', ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
            [(pid, x["indicator_id"], x["value"], x["target"], x["rating"]["status"], x["rating"]["reason"], x["short_term"],
              x["long_term"], (x["position"] or {}).get("quartile"), (x["lineage"] or {}).get("submission_id"))
             for x in snap["indicators"]])
        con.executemany(
            "INSERT INTO published_values (publication_id, kind, item_id, value, target, rating, reason, short_term, "
            "long_term, quartile, status, submission_id) VALUES (?, 'commitment', ?, ?, NULL, ?, ?, NULL, NULL, NULL, ?, ?)",
            [(pid, c["commitment_id"], c["percent_complete"], c["assessment"]["rag"], c["assessment"]["reason"],
              c["assessment"]["status"], (c["lineage"] or {}).get("submission_id")) for c in snap["commitments"]])
        con.executemany("INSERT INTO published_files (publication_id, submission_id) SELECT ?, id FROM current_submissions "
                        "WHERE period = ?", [(pid, p)])
        if unlock is not None:
            con.execute("UPDATE unlocks SET relocked_at = ?, relocked_by = ?, relock_publication_id = ? WHERE id = ?",
                        (at, by, pid, unlock["id"]))
    return PublishResult(p, "published", version, f"Published {p} as version {version}" + (
        f" (replacing version {latest['version']}); earlier versions are kept." if latest else "; the period is now locked."),
        pid, at)


def unlock(con: sqlite3.Connection, period: str, reason: str, by: str | None = None) -> tuple[bool, str]:
    """Open a published period for a new version. Recorded with who, when and why. Call under the store's lock."""
    latest = latest_publication(con, period)
    if latest is None:
        return False, f"{period} has not been published, so there is nothing to unlock."
    if open_unlock(con, period) is not None:
        return False, f"{period} is already unlocked; the next publish makes version {latest['version'] + 1}."
    with transaction(con):
        con.execute("INSERT INTO unlocks (period, publication_id, unlocked_at, unlocked_by, reason) VALUES (?, ?, ?, ?, ?)",
                    (period, latest["id"], stamp(), by or who(), reason))
    return True, (f"Unlocked {period} (version {latest['version']} stays on record). The next publish makes version "
                  f"{latest['version'] + 1} if anything has changed.")


# ---- restatements ------------------------------------------------------------------------------------------------

def _text(v: Any, unit: str | None, decimals: int) -> str:
    if v is None:
        return "no value"
    if unit is None:
        return str(v)
    return fmt_value(float(v), unit, decimals)


def _compare(period: str, version: int, published: dict[str, Any], live: dict[str, Any],
             decimals: dict[str, int]) -> list[dict[str, Any]]:
    out = []
    now_inds = {x["indicator_id"]: x for x in live["indicators"]}
    for old in published["indicators"]:
        new = now_inds.get(old["indicator_id"])
        if new is None:
            continue
        changed = [k for k, a, b in (("value", old["value"], new["value"]), ("target", old["target"], new["target"]),
                                     ("rating", old["rating"]["status"], new["rating"]["status"])) if a != b]
        if changed:
            d = decimals.get(old["indicator_id"], 1)
            out.append(_row(period, version, "indicator", old["indicator_id"], old["name"], old, new, changed,
                            old["value"], old["rating"]["status"], new["value"], new["rating"]["status"],
                            _text(old["value"], old["unit"], d), _text(new["value"], new["unit"], d)))
    now_comms = {c["commitment_id"]: c for c in live["commitments"]}
    for old in published["commitments"]:
        new = now_comms.get(old["commitment_id"])
        if new is None:
            continue
        a, b = old["assessment"], new["assessment"]
        changed = [k for k, x, y in (("status", a["status"], b["status"]), ("rating", a["rag"], b["rag"]),
                                     ("percent_complete", old["percent_complete"], new["percent_complete"])) if x != y]
        if changed:
            def show(c: dict[str, Any]) -> str:
                pct = f", {c['percent_complete']:.0%} complete" if c["percent_complete"] is not None else ""
                return (c["assessment"]["status"] or "no update") + pct
            out.append(_row(period, version, "commitment", old["commitment_id"], old["text"], old, new, changed,
                            a["status"] or None, a["rag"], b["status"] or None, b["rag"], show(old), show(new)))
    return out


def _row(period: str, version: int, kind: str, ident: str, name: str, old: dict[str, Any], new: dict[str, Any],
         changed: list[str], pv: Any, pr: str, cv: Any, cr: str, ptext: str, ctext: str) -> dict[str, Any]:
    src = new.get("lineage") or {}
    return {"period": period, "version": version, "kind": kind, "id": ident, "name": name,
            "outcome_id": old["outcome_id"], "sub_outcome_id": old["sub_outcome_id"],
            "indicator_id": ident if kind == "indicator" else "", "changed": changed,
            "published_value": pv, "published_rating": pr, "current_value": cv, "current_rating": cr,
            "published_text": f"{ptext} ({pr})", "current_text": f"{ctext} ({cr})",
            "file_name": src.get("file_name"), "sha256": src.get("sha256"), "sheet": src.get("sheet"),
            "cell": src.get("cell"), "recorded_at": src.get("recorded_at"),
            "published_source": (old.get("lineage") or {}).get("file_name")}


def published_periods(con: sqlite3.Connection) -> list[str]:
    return [r[0] for r in con.execute("SELECT DISTINCT period FROM publications ORDER BY period")]


def restatements(con: sqlite3.Connection, cfg: Config, period: str | None = None, *,
                 live: dict[str, Any] | None = None, before: str | None = None) -> list[dict[str, Any]]:
    """Every difference between each period's latest published snapshot and the live data (or only `period`'s, or
    only those of periods before `before`)."""
    out = []
    for p in [period] if period else published_periods(con):
        if before is not None and p >= before:
            continue
        pub = latest_publication(con, p)
        if pub is None:
            continue
        per = Period.parse(p)
        now = live if live is not None and period else live_snapshot(con, cfg, per)
        decimals = {i.id: i.decimals for _, _, i in cfg.plan_for_period(per).indicators()}
        out += _compare(p, pub["version"], json.loads(pub["scores_json"]), now, decimals)
    return out


def restatement_keys(con: sqlite3.Connection, cfg: Config, period: Period,
                     scores: PeriodScores | None = None) -> set[tuple[Any, ...]]:
    """Each restatement of `period` as a comparable key: what differs, and what it is now."""
    live = live_snapshot(con, cfg, period, scores)
    return {(r["kind"], r["id"], tuple(r["changed"]), r["current_value"], r["current_rating"])
            for r in restatements(con, cfg, str(period), live=live)}


# ---- what decks and reports are built from -----------------------------------------------------------------------

@dataclass
class ReportContext:
    """A period's figures for a deck or report: the published snapshot (made now if there was none)."""

    period: str
    scores: PeriodScores | None
    publication: dict[str, Any] | None
    publication_id: int | None
    sources: dict[str, str] = field(default_factory=dict)  # indicator or commitment id -> "file, Sheet!Cell"
    changes: list[dict[str, Any]] = field(default_factory=list)  # restatements of earlier periods
    note: str = ""


def ensure_published(cfg: Config, period: Period, store: Path, trigger: str) -> ReportContext:
    """Publish `period` unless it is already published and locked; return its snapshot and the restatements of
    earlier published periods, for the "Changes since the last report" section."""
    with store_lock(store):
        con = connect(store)
        try:
            res = publish(con, cfg, period, trigger=trigger)
            pub = latest_publication(con, str(period))
            changes = restatements(con, cfg, before=str(period))
            if pub is None:
                return ReportContext(str(period), None, None, None, changes=changes, note=res.message)
            snap = json.loads(pub["scores_json"])
            sources = {x["indicator_id"]: x["lineage"]["where"] for x in snap["indicators"] if x.get("lineage")}
            sources |= {c["commitment_id"]: c["lineage"]["where"] for c in snap["commitments"] if c.get("lineage")}
            return ReportContext(str(period), scores_from_dict(snap), publication_meta(con, pub), pub["id"], sources,
                                 changes, res.message)
        finally:
            con.close()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def record_outputs(store: Path, ctx: ReportContext, files: list[tuple[str, Path]]) -> None:
    """Record each written file's hash against the snapshot it shows. The same bytes again record nothing."""
    if ctx.publication_id is None or not files:
        return
    with store_lock(store):
        con = connect(store)
        try:
            with transaction(con):
                con.executemany("INSERT OR IGNORE INTO published_outputs (publication_id, kind, file_name, path, sha256, "
                                "recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
                                [(ctx.publication_id, kind, Path(p).name, str(p), file_sha256(Path(p)), stamp())
                                 for kind, p in files])
        finally:
            con.close()


# ---- the audit log -----------------------------------------------------------------------------------------------

def has_target_register(con: sqlite3.Connection) -> bool:
    return con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (TARGET_TABLE,)).fetchone() is not None


def not_covered(con: sqlite3.Connection) -> list[str]:
    """What the audit log cannot show from this store."""
    return [] if has_target_register(con) else NOT_COVERED


def audit(con: sqlite3.Connection, period: str | None = None) -> list[dict[str, Any]]:
    """Submissions recorded, imports, publishes, unlocks, relocks, outputs and agreed targets, in time order."""
    ev: list[tuple[str, int, int, dict[str, Any]]] = []
    where, args = (" WHERE period = ?", (period,)) if period else ("", ())
    for r in con.execute(f"SELECT * FROM submissions{where}", args):
        team = f" team {r['team']}" if r["team"] else ""
        verdict = "accepted" if r["accepted"] else f"rejected ({r['n_errors']} error(s))"
        ev.append((r["recorded_at"], 0, r["id"], {
            "at": r["recorded_at"], "event": "submission recorded", "period": r["period"], "by": None,
            "detail": f"{r['file_name']} from {r['department'] or 'an unidentified department'}{team}, {verdict}",
            "file_name": r["file_name"], "sha256": r["sha256"], "submitted_at": r["file_mtime"]}))
    for r in con.execute("SELECT * FROM imports"):
        ev.append((r["imported_at"], 1, r["id"], {
            "at": r["imported_at"], "event": "import", "period": None, "by": None,
            "detail": f"{r['file_name']}: {r['rows']} value(s), {r['skipped']} row(s) left out"
                      + (" (since replaced by a later import)" if r["superseded_by"] else ""),
            "file_name": r["file_name"], "sha256": r["sha256"], "options": json.loads(r["options_json"] or "{}")}))
    for r in con.execute(f"SELECT * FROM publications{where}", args):
        ev.append((r["published_at"], 2, r["id"], {
            "at": r["published_at"], "event": "publish", "period": r["period"], "by": r["published_by"],
            "detail": f"version {r['version']} (by {r['trigger']})" + (f": {r['note']}" if r["note"] else ""),
            "version": r["version"], "content_sha256": r["content_sha256"]}))
    for r in con.execute(f"SELECT u.*, p.version FROM unlocks u JOIN publications p ON p.id = u.publication_id"
                         f"{where.replace('period', 'u.period')}", args):
        ev.append((r["unlocked_at"], 3, r["id"], {
            "at": r["unlocked_at"], "event": "unlock", "period": r["period"], "by": r["unlocked_by"],
            "detail": f"version {r['version']} unlocked: {r['reason']}", "version": r["version"], "reason": r["reason"]}))
        if r["relocked_at"] and r["relock_publication_id"] == r["publication_id"]:
            ev.append((r["relocked_at"], 4, r["id"], {
                "at": r["relocked_at"], "event": "relock", "period": r["period"], "by": r["relocked_by"],
                "detail": f"locked again at version {r['version']}: nothing had changed", "version": r["version"]}))
    if has_target_register(con):
        tw, targs = ("", ())
        if period:
            tw, targs = " WHERE period IN (?, ?)", (period, str(Period(Period.parse(period).fy, "Y", 1)))
        for r in con.execute(f"SELECT * FROM {TARGET_TABLE}{tw}", targs):
            ev.append((r["recorded_at"], 6, r["id"], {
                "at": r["recorded_at"], "event": "target agreed", "period": r["period"], "by": r["agreed_by"],
                "detail": f"{r['indicator_id']} target {r['value']:g} for {r['period']}, agreed {r['agreed_at']}"
                          + (f" ({r['file_name']})" if r["file_name"] else ""),
                "indicator_id": r["indicator_id"], "value": r["value"], "file_name": r["file_name"],
                "sha256": r["sha256"]}))
    for r in con.execute("SELECT o.*, p.period, p.version FROM published_outputs o JOIN publications p "
                         f"ON p.id = o.publication_id{where.replace('period', 'p.period')}", args):
        ev.append((r["recorded_at"], 5, r["id"], {
            "at": r["recorded_at"], "event": "output", "period": r["period"], "by": None,
            "detail": f"{r['kind']} {r['file_name']} made from version {r['version']}", "file_name": r["file_name"],
            "sha256": r["sha256"], "version": r["version"]}))
    from datetime import datetime

    return [e for *_, e in sorted(ev, key=lambda t: (datetime.fromisoformat(t[0]), t[1], t[2]))]
