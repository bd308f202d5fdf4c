"""The history store: an embedded, transactional SQLite database. Nothing in it is ever deleted.

Submissions and their values are append-only. "Current" is a view: for each period and department (and team) the
latest accepted submission. A corrected re-submission therefore supersedes the earlier one simply by being newer,
and the earlier one stays in history. The schema is versioned: `MIGRATIONS[i]` takes version i to i + 1.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MIGRATIONS: list[str] = [
    # 1: submissions, their values, imported history and comparator values
    """
    CREATE TABLE submissions (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        file_name TEXT NOT NULL,
        path TEXT NOT NULL,
        department TEXT,
        team TEXT NOT NULL DEFAULT '',
        period TEXT,
        plan_id TEXT,
        template_version TEXT,
        generated_at TEXT,
        saved_at TEXT,
        file_mtime TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        accepted INTEGER NOT NULL,
        n_errors INTEGER NOT NULL,
        n_warnings INTEGER NOT NULL,
        issues_json TEXT NOT NULL
    );
    CREATE INDEX submissions_period ON submissions(period, department, team);
    CREATE TABLE indicator_values (
        id INTEGER PRIMARY KEY,
        submission_id INTEGER NOT NULL REFERENCES submissions(id),
        indicator_id TEXT NOT NULL,
        period TEXT NOT NULL,
        value REAL, numerator REAL, denominator REAL, target REAL,
        data_status TEXT, reason TEXT, data_period TEXT, commentary TEXT,
        UNIQUE (submission_id, indicator_id)
    );
    CREATE INDEX indicator_values_ind ON indicator_values(indicator_id, period);
    CREATE TABLE commitment_updates (
        id INTEGER PRIMARY KEY,
        submission_id INTEGER NOT NULL REFERENCES submissions(id),
        commitment_id TEXT NOT NULL,
        period TEXT NOT NULL,
        lead_officer TEXT, status TEXT, percent_complete REAL,
        start_date TEXT, target_date TEXT, completion_date TEXT,
        milestone TEXT, achievements TEXT, challenges TEXT, priorities TEXT,
        UNIQUE (submission_id, commitment_id)
    );
    CREATE INDEX commitment_updates_c ON commitment_updates(commitment_id, period);
    CREATE TABLE imports (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        file_name TEXT NOT NULL,
        rows INTEGER NOT NULL,
        skipped INTEGER NOT NULL,
        imported_at TEXT NOT NULL
    );
    CREATE TABLE area_values (
        id INTEGER PRIMARY KEY,
        import_id INTEGER NOT NULL REFERENCES imports(id),
        area_code TEXT NOT NULL,
        area_name TEXT NOT NULL,
        period TEXT NOT NULL,
        indicator_id TEXT NOT NULL,
        value REAL,
        grp TEXT,
        UNIQUE (import_id, area_code, period, indicator_id)
    );
    CREATE INDEX area_values_ind ON area_values(indicator_id, period, area_code);
    CREATE VIEW current_submissions AS
        SELECT s.* FROM submissions s
        WHERE s.accepted = 1 AND s.id = (
            SELECT s2.id FROM submissions s2
            WHERE s2.accepted = 1 AND s2.period = s.period AND s2.department = s.department AND s2.team = s.team
            ORDER BY s2.file_mtime DESC, s2.saved_at DESC, s2.id DESC LIMIT 1);
    CREATE VIEW current_area_values AS
        SELECT a.* FROM area_values a
        WHERE a.import_id = (SELECT MAX(a2.import_id) FROM area_values a2
                             WHERE a2.area_code = a.area_code AND a2.period = a.period AND a2.indicator_id = a.indicator_id);
    """,
    # 2: the run log (scheduled and manual jobs)
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        job TEXT NOT NULL,
        period TEXT,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        outcome TEXT NOT NULL,
        outputs_json TEXT NOT NULL DEFAULT '[]',
        error TEXT
    );
    CREATE INDEX runs_job ON runs(job, period, started_at);
    """,
    # 3: each scheduled run remembers which occurrence (job, period, due time) it was, for catch-up
    """
    ALTER TABLE runs ADD COLUMN due TEXT;
    CREATE INDEX runs_due ON runs(job, period, due, outcome);
    """,
    # 4: the same current submissions, ranked once per query instead of a correlated subquery per value row
    """
    DROP VIEW current_submissions;
    CREATE VIEW current_submissions AS
        SELECT id, sha256, file_name, path, department, team, period, plan_id, template_version, generated_at, saved_at,
               file_mtime, recorded_at, accepted, n_errors, n_warnings, issues_json
        FROM (SELECT s.*, ROW_NUMBER() OVER (PARTITION BY period, department, team
                                             ORDER BY file_mtime DESC, saved_at DESC, id DESC) AS newest
              FROM submissions s WHERE accepted = 1 AND period IS NOT NULL AND department IS NOT NULL)
        WHERE newest = 1;
    """,
    # 5: an import is the file *and* its options and mapping (re-importing with others replaces it; both stay in
    # history); every comparator value keeps its period's dates and the row it came from
    """
    CREATE TABLE imports_v5 (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL,
        import_key TEXT NOT NULL UNIQUE,
        file_name TEXT NOT NULL,
        rows INTEGER NOT NULL,
        skipped INTEGER NOT NULL,
        imported_at TEXT NOT NULL,
        options_json TEXT NOT NULL DEFAULT '{}',
        superseded_by INTEGER
    );
    INSERT INTO imports_v5 (id, sha256, import_key, file_name, rows, skipped, imported_at)
        SELECT id, sha256, sha256, file_name, rows, skipped, imported_at FROM imports;
    DROP VIEW current_area_values;
    DROP TABLE imports;
    ALTER TABLE imports_v5 RENAME TO imports;
    CREATE INDEX imports_sha ON imports(sha256);
    ALTER TABLE area_values ADD COLUMN period_start TEXT;
    ALTER TABLE area_values ADD COLUMN period_end TEXT;
    ALTER TABLE area_values ADD COLUMN source_row INTEGER;
    CREATE VIEW current_area_values AS
        SELECT a.* FROM area_values a JOIN imports i ON i.id = a.import_id
        WHERE i.superseded_by IS NULL AND a.import_id = (
            SELECT MAX(a2.import_id) FROM area_values a2 JOIN imports i2 ON i2.id = a2.import_id
            WHERE i2.superseded_by IS NULL AND a2.area_code = a.area_code AND a2.period = a.period
              AND a2.indicator_id = a.indicator_id);
    """,
    # 6: lineage (the sheet and cell each value came from) and publication: frozen snapshots of scored periods, the
    # files they came from, the outputs made from them, and unlocks (each closed by the next publish)
    """
    ALTER TABLE indicator_values ADD COLUMN sheet TEXT;
    ALTER TABLE indicator_values ADD COLUMN cell TEXT;
    ALTER TABLE commitment_updates ADD COLUMN sheet TEXT;
    ALTER TABLE commitment_updates ADD COLUMN cell TEXT;
    CREATE TABLE publications (
        id INTEGER PRIMARY KEY,
        period TEXT NOT NULL,
        version INTEGER NOT NULL,
        plan_id TEXT NOT NULL,
        published_at TEXT NOT NULL,
        published_by TEXT NOT NULL,
        note TEXT,
        trigger TEXT NOT NULL,
        content_sha256 TEXT NOT NULL,
        scores_json TEXT NOT NULL,
        UNIQUE (period, version)
    );
    CREATE TABLE published_values (
        publication_id INTEGER NOT NULL REFERENCES publications(id),
        kind TEXT NOT NULL,
        item_id TEXT NOT NULL,
        value REAL, target REAL, rating TEXT, reason TEXT, short_term TEXT, long_term TEXT, quartile INTEGER,
        status TEXT,
        submission_id INTEGER REFERENCES submissions(id),
        PRIMARY KEY (publication_id, kind, item_id)
    );
    CREATE TABLE published_files (
        publication_id INTEGER NOT NULL REFERENCES publications(id),
        submission_id INTEGER NOT NULL REFERENCES submissions(id),
        PRIMARY KEY (publication_id, submission_id)
    );
    CREATE TABLE published_outputs (
        id INTEGER PRIMARY KEY,
        publication_id INTEGER NOT NULL REFERENCES publications(id),
        kind TEXT NOT NULL,
        file_name TEXT NOT NULL,
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        UNIQUE (publication_id, file_name, sha256)
    );
    CREATE TABLE unlocks (
        id INTEGER PRIMARY KEY,
        period TEXT NOT NULL,
        publication_id INTEGER NOT NULL REFERENCES publications(id),
        unlocked_at TEXT NOT NULL,
        unlocked_by TEXT NOT NULL,
        reason TEXT NOT NULL,
        relocked_at TEXT,
        relocked_by TEXT,
        relock_publication_id INTEGER REFERENCES publications(id)
    );
    CREATE INDEX unlocks_period ON unlocks(period, relocked_at);
    """,
    # 7: the register of agreed targets (`targets`): each agreement appended, the latest per indicator and period
    # (a year such as 2026/27, or one reporting period) is current
    """
    CREATE TABLE agreed_targets (
        id INTEGER PRIMARY KEY,
        indicator_id TEXT NOT NULL,
        period TEXT NOT NULL,
        value REAL NOT NULL,
        agreed_by TEXT,
        agreed_at TEXT NOT NULL,
        file_name TEXT,
        sha256 TEXT,
        recorded_at TEXT NOT NULL
    );
    CREATE INDEX agreed_targets_ind ON agreed_targets(indicator_id, period);
    CREATE VIEW current_agreed_targets AS
        SELECT id, indicator_id, period, value, agreed_by, agreed_at, file_name, sha256, recorded_at
        FROM (SELECT t.*, ROW_NUMBER() OVER (PARTITION BY indicator_id, period ORDER BY id DESC) AS newest
              FROM agreed_targets t)
        WHERE newest = 1;
    """,
]


class StoreBusy(RuntimeError):
    """Another run holds the store's lock for longer than we were willing to wait."""


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@contextlib.contextmanager
def store_lock(path: Path, wait_seconds: float = 600, notify: Any = None) -> Iterator[None]:
    """Serialise runs on one store (a ribbon click and the scheduler may collide). Waits, saying who holds it."""
    from plan_reports.locks import Locked, release, try_lock

    lock_path = Path(str(path) + ".lock")
    deadline = time.monotonic() + wait_seconds
    told = False
    while True:
        try:
            fd = try_lock(lock_path, f"pid {os.getpid()}, started {now_iso()}")
            break
        except Locked as e:
            if not told and notify:
                notify(f"Another run is using the history store {path} ({e.holder}); waiting for it to finish...")
                told = True
            if time.monotonic() > deadline:
                raise StoreBusy(f"The history store {path} is still in use by {e.holder} after {wait_seconds:.0f}s. "
                                "Try again when that run has finished.") from None
            time.sleep(0.2)
    try:
        yield
    finally:
        release(fd)


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating and migrating if needed) the store."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=60, isolation_level=None)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("PRAGMA foreign_keys=ON")
    migrate(con)
    return con


def schema_version(con: sqlite3.Connection) -> int:
    return int(con.execute("PRAGMA user_version").fetchone()[0])


def migrate(con: sqlite3.Connection) -> int:
    version = schema_version(con)
    if version > len(MIGRATIONS):
        raise RuntimeError(f"The history store has schema version {version}, newer than this program ({len(MIGRATIONS)}). "
                           "Upgrade plan-reports.")
    for v in range(version, len(MIGRATIONS)):
        with transaction(con):
            for stmt in _statements(MIGRATIONS[v]):
                con.execute(stmt)
            con.execute(f"PRAGMA user_version = {v + 1}")
    return schema_version(con)


def _statements(script: str) -> Iterable[str]:
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                yield buf.strip()
            buf = ""


@contextlib.contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """All or nothing: a run killed part-way leaves the store as it was."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@dataclass(frozen=True)
class SubmissionRecord:
    id: int
    sha256: str
    file_name: str
    department: str | None
    team: str
    period: str | None
    accepted: bool
    file_mtime: str
    saved_at: str | None
    n_errors: int
    n_warnings: int
    issues: list[dict[str, Any]]


@dataclass(frozen=True)
class ReturnStatus:
    department: str
    team: str
    name: str
    received: bool
    file_name: str | None
    submitted_at: str | None
    valid: bool
    accepted: bool
    n_errors: int
    n_warnings: int
    late: bool
    status: str  # Accepted | Accepted (late) | Invalid | Missing | Superseded ...
    submissions: int


def submission_from_row(row: sqlite3.Row) -> SubmissionRecord:
    return SubmissionRecord(row["id"], row["sha256"], row["file_name"], row["department"], row["team"], row["period"],
                            bool(row["accepted"]), row["file_mtime"], row["saved_at"], row["n_errors"], row["n_warnings"],
                            json.loads(row["issues_json"]))


def submissions_for(con: sqlite3.Connection, period: str) -> list[SubmissionRecord]:
    rows = con.execute("SELECT * FROM submissions WHERE period = ? ORDER BY department, team, file_mtime, id", (period,))
    return [submission_from_row(r) for r in rows]


def current_ids(con: sqlite3.Connection, period: str) -> set[int]:
    return {r[0] for r in con.execute("SELECT id FROM current_submissions WHERE period = ?", (period,))}


def indicator_values(con: sqlite3.Connection, periods: Iterable[str]) -> dict[tuple[str, str], sqlite3.Row]:
    """(indicator, period) -> the value row from the current submission. Teams' returns are kept apart by id order."""
    ps = list(periods)
    if not ps:
        return {}
    q = f"""SELECT v.*, s.file_name, s.sha256, s.department, s.team FROM indicator_values v
            JOIN current_submissions s ON s.id = v.submission_id
            WHERE v.period IN ({",".join("?" * len(ps))}) ORDER BY s.team DESC, s.id"""
    return {(r["indicator_id"], r["period"]): r for r in con.execute(q, ps)}


def indicator_values_through(con: sqlite3.Connection, period: str) -> list[sqlite3.Row]:
    """Every current value reported for any period up to and including `period`, oldest first."""
    q = """SELECT v.*, s.file_name, s.sha256, s.department FROM indicator_values v
           JOIN current_submissions s ON s.id = v.submission_id WHERE v.period <= ? ORDER BY v.period, s.team DESC, s.id"""
    return list(con.execute(q, (period,)))


def commitment_updates(con: sqlite3.Connection, period: str) -> dict[str, sqlite3.Row]:
    """commitment -> its update: the department-level return's if there is one, else the last team's."""
    q = """SELECT c.*, s.file_name, s.sha256, s.department, s.team FROM commitment_updates c
           JOIN current_submissions s ON s.id = c.submission_id
           WHERE c.id IN (SELECT id FROM (  -- rank narrow rows, then fetch only the chosen ones whole
               SELECT c2.id, ROW_NUMBER() OVER (PARTITION BY c2.commitment_id ORDER BY s2.team, s2.id DESC) AS pick
               FROM commitment_updates c2 JOIN current_submissions s2 ON s2.id = c2.submission_id WHERE c2.period = ?)
             WHERE pick = 1)"""
    return {r["commitment_id"]: r for r in con.execute(q, (period,))}


def area_values(con: sqlite3.Connection, indicator_id: str) -> list[sqlite3.Row]:
    return list(con.execute("SELECT * FROM current_area_values WHERE indicator_id = ? ORDER BY period, area_code",
                            (indicator_id,)))


def content_digest(con: sqlite3.Connection, exclude: tuple[str, ...] = ("runs",)) -> str:
    """A digest of every table's rows, for tests and audits that a re-run changed nothing."""
    import hashlib

    h = hashlib.sha256()
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    for t in tables:
        if t in exclude:
            continue
        h.update(t.encode())
        for row in con.execute(f"SELECT * FROM {t} ORDER BY 1"):
            h.update(repr(tuple(row)).encode())
    return h.hexdigest()
