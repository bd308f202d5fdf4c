"""Cross-platform locks that say who holds them: `filelock` takes the lock (msvcrt on Windows, fcntl elsewhere), and
a side file beside it holds a note for the next person who finds it taken ("pid 4242, started 09:12")."""

from __future__ import annotations

import contextlib
from pathlib import Path

from filelock import FileLock, Timeout


class Locked(Exception):
    """The lock is held by someone else; `holder` says who, as they wrote it."""

    def __init__(self, holder: str):
        super().__init__(holder)
        self.holder = holder


def _note_file(path: Path) -> Path:
    return path.with_name(path.name + ".holder")


def try_lock(path: Path, note: str) -> FileLock:
    """Take the lock without waiting and leave `note` beside it; returns the lock (`release` it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path, thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        try:
            holder = _note_file(path).read_text(encoding="utf-8").strip() or "another process"
        except OSError:
            holder = "another process"
        raise Locked(holder) from None
    with contextlib.suppress(OSError):  # the note only helps people; the lock is what counts
        _note_file(path).write_text(note, encoding="utf-8")
    return lock


def release(lock: FileLock) -> None:
    """Clear the note and release the lock."""
    with contextlib.suppress(OSError):
        _note_file(Path(lock.lock_file)).unlink(missing_ok=True)
    lock.release()
