"""The fast paths give the same answers as the plain ones: the validation and config caches, and the worker pool."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

from plan_reports import validate as v
from plan_reports.config import Config, load_config
from plan_reports.periods import Period

P = Period.parse("2025/26-Q2")
TODAY = date(2025, 10, 20)


def _same(a: v.FileReport, b: v.FileReport) -> None:
    assert (a.valid, a.department, a.period, a.indicators, a.commitments) == (b.valid, b.department, b.period,
                                                                              b.indicators, b.commitments)
    assert [(i.code, i.cell, i.message) for i in a.issues] == [(i.code, i.cell, i.message) for i in b.issues]


def test_validation_cache_serves_seen_files_and_rechecks_changed_ones(config: Config, samples: dict[str, Path],
                                                                      tmp_path: Path,
                                                                      crash_hook: Callable[[str, str], None]) -> None:
    src = Path(shutil.copy2(samples["ET"], tmp_path / "Tracker_ET_2025-26-Q2.xlsx"))
    plain = v.validate_file(src, config, expected_period=P, today=TODAY)
    first = v.validate_file(src, config, expected_period=P, today=TODAY, use_cache=True)
    crash_hook("abort", src.name)  # from now on, reading this file in a worker would crash it
    again = v.validate_file(src, config, expected_period=P, today=TODAY, use_cache=True)
    _same(plain, first)
    _same(plain, again)  # served from the cache: the file was not read again
    assert again.path == src and all(i.file == str(src) for i in again.issues)
    other_period = v.validate_file(src, config, expected_period=P.next(), today=TODAY, use_cache=True)
    assert [i.code for i in other_period.issues] == ["F013"]  # another question: read again (and crashed)
    data = src.read_bytes()
    src.write_bytes(data[: len(data) // 2])  # changed bytes: a truncated file now, read again
    assert [i.code for i in v.validate_file(src, config, expected_period=P, today=TODAY, use_cache=True).issues] == ["F003"]


def test_config_cache_matches_and_notices_edits(config_copy: Path) -> None:
    fresh = load_config(config_copy)
    cached = load_config(config_copy)
    assert cached.plans == fresh.plans and cached.scoring == fresh.scoring and cached.root == config_copy
    f = config_copy / "scoring.yaml"
    f.write_text(f.read_text().replace("tolerance_pct: 5", "tolerance_pct: 12", 1))
    assert load_config(config_copy).scoring.rag.default.tolerance_pct == 12


def test_pool_gives_the_same_reports_in_order(config: Config, samples: dict[str, Path], tmp_path: Path) -> None:
    files = [Path(shutil.copy2(p, tmp_path / f"{i}_{p.name}")) for i in range(2) for p in samples.values()]
    serial = v.validate_files(files, config, expected_period=P, today=TODAY, workers=1)
    pooled = v.validate_files(files, config, expected_period=P, today=TODAY, workers=2)
    assert [r.path for r in pooled] == files
    for a, b in zip(serial, pooled, strict=True):
        _same(a, b)
