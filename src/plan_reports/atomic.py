"""Atomic file writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path


class OutputInUse(PermissionError):
    """The output file is open in another program (on Windows, usually Excel), so it cannot be replaced."""


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; move it over `target` only if the block succeeds."""
    import tempfile  # here, not at the top: commands that only read start faster

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix + ".part", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; outputs are shared files
        try:
            os.replace(tmp_path, target)
        except PermissionError as e:
            raise OutputInUse(f"{target} is open in another program (Excel?) or read-only. Close it and try again; "
                              "nothing was changed.") from e
    finally:
        tmp_path.unlink(missing_ok=True)


def set_mtime(path: Path, when: datetime) -> None:
    """Set when a file was last modified: how a return's arrival is simulated in samples and tests."""
    ts = when.timestamp()
    os.utime(path, (ts, ts))
