"""Validate a batch of submissions, each file read in an isolated worker process, whatever the batch size.

A submission is untrusted: its package is checked by `xlsx.open_package` and its cells read by calamine inside a
spawned worker (`workers.isolated_map`), so a file that crashes, hangs or exhausts the reader costs only itself an
F013, and every other return is still checked. The parent only hashes file bytes, for the validation cache.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plan_reports.issues import issue
from plan_reports.trackers import SHEET_COMMITMENTS, SHEET_INDICATORS, SHEET_META
from plan_reports.validate.cache import ValidationCache
from plan_reports.validate.returns import FileReport
from plan_reports.validate.rules import check_submission
from plan_reports.workers import Failed, isolated_map
from plan_reports.xlsx import MAX_FILE_BYTES, ReadProblem, open_package, read_values

if TYPE_CHECKING:
    from plan_reports.config import Config
    from plan_reports.periods import Period

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".xltx", ".xltm"}
MAX_WORKERS = 4


def read_and_check(path: Path, cfg: Config, expected_period: Period | None, today: date) -> FileReport:
    """Read (never modify) one submission and check it; an unreadable file gives one F-code issue.

    Runs in a worker process: never call it on an untrusted file in a process whose loss would matter.
    """
    try:
        pkg = open_package(path, detail={SHEET_INDICATORS, SHEET_COMMITMENTS})
        wanted = [s for s in (SHEET_INDICATORS, SHEET_COMMITMENTS) if s in pkg.sheets]
        if not any(k.startswith("pr_") for k in pkg.custom_props) and SHEET_META in pkg.sheets:
            wanted.append(SHEET_META)
        values = read_values(pkg, wanted)
    except ReadProblem as e:
        return FileReport(path, readable=False, issues=[issue(e.code, str(path), None, None, e.message)])
    return check_submission(pkg, values, cfg, expected_period=expected_period, today=today)


def stopped_reader(path: Path, why: str) -> FileReport:
    """The report of a file whose worker failed: F013, for this file alone."""
    return FileReport(path, readable=False, issues=[issue(
        "F013", str(path), None, None,
        f"The file stopped the workbook reader ({why}), so it cannot be read safely. Open it in Excel, save it as a "
        "new .xlsx workbook and resend it.")])


_worker: dict[str, Any] = {}


def _init_worker(cfg: Config, expected_period: Period | None, today: date) -> None:
    _worker.update(cfg=cfg, expected_period=expected_period, today=today)


def _check_in_worker(path: Path) -> FileReport:
    return read_and_check(path, _worker["cfg"], _worker["expected_period"], _worker["today"])


def _cache_key(cache: ValidationCache, path: Path, cfg: Config, expected: Period | None, today: date) -> str | None:
    """The file's cache key from its bytes (read, never parsed, here); None for a file too large or unreadable."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        return cache.key(path.read_bytes(), path.name, cfg, expected, today)
    except OSError:
        return None


def validate_files(files: Sequence[Path], cfg: Config, *, expected_period: Period | None = None,
                   today: date | None = None, progress: Callable[[], None] | None = None, workers: int | None = None,
                   use_cache: bool = False) -> list[FileReport]:
    """Validate files in isolated workers (on every core, up to four). Results keep the order of `files`.

    With the cache, a file whose bytes, name and checking context were seen before is not read again.
    """
    tick = progress or (lambda: None)
    today = today or date.today()
    files = [Path(f) for f in files]
    cache = ValidationCache.open() if use_cache else None
    reports: dict[int, FileReport] = {}
    keys: dict[int, str] = {}
    for i, f in enumerate(files):
        key = _cache_key(cache, f, cfg, expected_period, today) if cache else None
        hit = cache.get(key, f) if cache and key else None
        if hit is not None:
            reports[i] = hit
            tick()
        elif key:
            keys[i] = key
    todo = [i for i in range(len(files)) if i not in reports]
    n_workers = max(1, min(workers or os.cpu_count() or 1, MAX_WORKERS, len(todo)))
    fresh: list[tuple[str, FileReport]] = []
    for j, got in isolated_map(_check_in_worker, [files[i] for i in todo], workers=n_workers, init=_init_worker,
                               init_args=(cfg, expected_period, today)):
        i = todo[j]
        if isinstance(got, Failed):
            reports[i] = stopped_reader(files[i], got.why)
        else:
            got.path = files[i]
            reports[i] = got
            if i in keys:
                fresh.append((keys[i], got))
        tick()
    if cache is not None:
        cache.put(fresh)
    return [reports[i] for i in range(len(files))]


def validate_file(path: Path, cfg: Config, *, expected_period: Period | None = None,
                  today: date | None = None, use_cache: bool = False) -> FileReport:
    """One submission, read in an isolated worker like any other (the ribbon's "Validate this workbook")."""
    return validate_files([path], cfg, expected_period=expected_period, today=today, workers=1, use_cache=use_cache)[0]


def not_a_return(path: Path) -> str | None:
    """Why a file that looks like a workbook is not a return at all (Office's lock files), or None."""
    if path.name.startswith("~$"):
        return (f"skipped: Excel's lock file for {path.name[2:]}, which is open in Excel somewhere (it holds only the "
                "name of the person who has it open). Validate the workbook itself.")
    if path.name.startswith(".~lock."):
        return f"skipped: LibreOffice's lock file for {path.name[7:].rstrip('#')}, which is open somewhere."
    return None


def find_submissions(paths: Iterable[Path], skipped: list[tuple[Path, str]] | None = None) -> tuple[list[Path], list[Path]]:
    """Files to validate (explicit files always; folders searched recursively) and the ones not found.

    Lock files are never validated; those named explicitly are added to `skipped` with the reason, for the user.
    """
    found: list[Path] = []
    missing: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SPREADSHEET_SUFFIXES
                                and not not_a_return(f) and not f.name.startswith(".")))
        elif p.is_file():
            why = not_a_return(p)
            if why is None:
                found.append(p)
            elif skipped is not None:
                skipped.append((p, why))
        else:
            missing.append(p)
    return found, missing


def validate_paths(paths: Iterable[Path], cfg: Config, *, expected_period: Period | None = None,
                   today: date | None = None, progress: Callable[[], None] | None = None, workers: int | None = None,
                   use_cache: bool = False) -> list[FileReport]:
    files, _ = find_submissions(paths)
    return validate_files(files, cfg, expected_period=expected_period, today=today, progress=progress, workers=workers,
                          use_cache=use_cache)
