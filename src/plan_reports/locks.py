"""Cross-platform advisory file locks that say who holds them (fcntl on Linux and Mac, msvcrt on Windows)."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path


class Locked(Exception):
    """The lock is held by someone else; `holder` says who, as they wrote it."""

    def __init__(self, holder: str):
        super().__init__(holder)
        self.holder = holder


def _read(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 200).decode(errors="replace").strip(" \0\n") or "another process"


def try_lock(path: Path, note: str) -> int:
    """Take the lock without waiting and write `note` into the file; returns the descriptor (close it to release)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if sys.platform.startswith("win"):
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = _read(fd)
        os.close(fd)
        raise Locked(holder) from None
    if not sys.platform.startswith("win"):  # on Windows the locked first byte cannot be rewritten; the note is optional
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, note.encode())
    return fd


def release(fd: int) -> None:
    """Clear the note and release the lock (closing the descriptor releases it on every platform)."""
    if not sys.platform.startswith("win"):
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
    os.close(fd)
