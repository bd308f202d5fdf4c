"""Reports of files already checked, so re-validating a folder where few returns changed costs little more than
hashing the rest. Keyed by content, file name and everything the checks depend on (config, the checks' own code,
the expected period and the day); kept in SQLite in the user's cache folder (platformdirs). A damaged cache is
ignored: it only ever costs time.
"""

from __future__ import annotations

import contextlib
import hashlib
import pickle
import sqlite3
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from plan_reports.issues import Issue
from plan_reports.validate.returns import FileReport

if TYPE_CHECKING:
    from plan_reports.config import Config
    from plan_reports.periods import Period

_CODE: list[str] = []


def code_digest() -> str:
    """The checks' own source: a changed validator never serves a report made by an older one."""
    if not _CODE:
        package = Path(__file__).parent.parent
        h = hashlib.sha256()
        for name in sorted((package / "validate").glob("*.py")):
            h.update(name.read_bytes())
        for name in ("xlsx.py", "trackers.py", "score.py", "models.py", "periods.py", "__init__.py"):
            h.update((package / name).read_bytes())
        _CODE.append(h.hexdigest())
    return _CODE[0]


def default_path() -> Path:
    """The validation cache in the user's cache folder (%LOCALAPPDATA% on Windows, ~/.cache on Linux)."""
    from platformdirs import user_cache_path

    return user_cache_path("plan-reports", appauthor=False) / "validation.sqlite"


class ValidationCache:
    """Reports of files already checked, keyed by content hash, file name and everything the checks depend on."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA synchronous=NORMAL")  # a cache: losing the last writes on power loss costs only time
        self.con.execute("CREATE TABLE IF NOT EXISTS reports (key TEXT PRIMARY KEY, report BLOB NOT NULL)")

    @classmethod
    def open(cls) -> ValidationCache | None:
        """The cache, or None when it cannot be opened (read-only home, a locked file): then nothing is cached."""
        try:
            return cls()
        except (OSError, sqlite3.Error):
            return None

    @staticmethod
    def key(data: bytes, name: str, cfg: Config, expected: Period | None, today: date) -> str:
        parts = [hashlib.sha256(data).hexdigest(), name, cfg.config_hash, code_digest(), str(expected or ""),
                 today.isoformat()]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()

    def get(self, key: str, path: Path) -> FileReport | None:
        try:
            row = self.con.execute("SELECT report FROM reports WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            rep = pickle.loads(row[0])  # our own reports, in the user's own cache folder
        except Exception:
            return None
        if not isinstance(rep, FileReport):
            return None
        rep.path = path
        rep.issues = [Issue(i.code, i.severity, str(path), i.sheet, i.cell, i.message) for i in rep.issues]
        return rep

    def put(self, entries: Sequence[tuple[str, FileReport]]) -> None:
        """Store new reports in one transaction."""
        if not entries:
            return
        rows = [(key, pickle.dumps(rep, protocol=pickle.HIGHEST_PROTOCOL)) for key, rep in entries]
        with contextlib.suppress(sqlite3.Error):  # a cache that cannot be written only costs time
            self.con.execute("BEGIN")
            try:
                self.con.executemany("INSERT OR REPLACE INTO reports (key, report) VALUES (?, ?)", rows)
            finally:
                self.con.execute("COMMIT")
