"""The fast paths give the same answers as the plain ones: caches, the worker pool, and its failure handling."""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from plan_reports import validate as v
from plan_reports.config import Config, load_config
from plan_reports.periods import Period

P = Period.parse("2025/26-Q2")
TODAY = date(2025, 10, 20)


def _same(a: v.FileReport, b: v.FileReport) -> None:
    assert (a.valid, a.department, a.period, a.indicators, a.commitments) == (b.valid, b.department, b.period,
                                                                              b.indicators, b.commitments)
    assert [(i.code, i.cell, i.message) for i in a.issues] == [(i.code, i.cell, i.message) for i in b.issues]


def test_validation_cache_hits_and_misses(config: Config, samples: dict[str, Path], tmp_path: Path) -> None:
    cache = v.ValidationCache(tmp_path / "c.sqlite")
    src = shutil.copy2(samples["ET"], tmp_path / "Tracker_ET_2025-26-Q2.xlsx")
    plain = v.validate_file(Path(src), config, expected_period=P, today=TODAY)
    first = v.validate_file(Path(src), config, expected_period=P, today=TODAY, cache=cache)
    calls = []
    real = v._validate
    try:
        v._validate = lambda *a: calls.append(a) or real(*a)  # type: ignore[assignment]
        again = v.validate_file(Path(src), config, expected_period=P, today=TODAY, cache=cache)
        assert calls == []  # served from the cache
        v.validate_file(Path(src), config, expected_period=Period.parse("2025/26-Q3"), today=TODAY, cache=cache)
        assert len(calls) == 1  # another expected period is another question
        moved = Path(shutil.copy2(src, tmp_path / "Tracker_CE_2025-26-Q2.xlsx"))
        renamed = v.validate_file(moved, config, expected_period=P, today=TODAY, cache=cache)
        assert len(calls) == 2 and "S015" in {i.code for i in renamed.issues}  # the name matters to the checks
        data = Path(src).read_bytes()
        Path(src).write_bytes(data[: len(data) // 2])  # changed bytes: a truncated file now
        changed = v.validate_file(Path(src), config, expected_period=P, today=TODAY, cache=cache)
        assert len(calls) == 3 and not changed.valid
    finally:
        v._validate = real  # type: ignore[assignment]
    _same(plain, first)
    _same(plain, again)
    assert again.path == Path(src) and all(i.file == str(src) for i in again.issues)


def test_config_cache_matches_and_notices_edits(config_copy: Path) -> None:
    fresh = load_config(config_copy)
    cached = load_config(config_copy)
    assert cached.plans == fresh.plans and cached.scoring == fresh.scoring and cached.root == config_copy
    f = config_copy / "scoring.yaml"
    f.write_text(f.read_text().replace("tolerance_pct: 10", "tolerance_pct: 12", 1))
    assert load_config(config_copy).scoring.rag.default.tolerance_pct == 12


def test_pool_gives_the_same_reports_in_order(config: Config, samples: dict[str, Path], tmp_path: Path) -> None:
    files = [Path(shutil.copy2(p, tmp_path / f"{i}_{p.name}")) for i in range(3) for p in samples.values()]
    serial = v.validate_files(files, config, expected_period=P, today=TODAY, workers=1)
    pooled = v.validate_files(files, config, expected_period=P, today=TODAY, workers=2)
    assert [r.path for r in pooled] == files
    for a, b in zip(serial, pooled, strict=True):
        _same(a, b)


def test_pooled_validation_fills_the_cache_once_then_reads_it(config: Config, samples: dict[str, Path], tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # an empty cache of its own
    files = [Path(shutil.copy2(p, tmp_path / f"{i}_{p.name}")) for i in range(2) for p in samples.values()]
    first = v.validate_files(files, config, expected_period=P, today=TODAY, workers=2, use_cache=True)
    cache = v.ValidationCache.open()
    assert cache is not None
    assert cache.con.execute("SELECT count(*) FROM reports").fetchone()[0] == len(files)

    def must_not_run(*a: object) -> v.FileReport:
        raise AssertionError("checked again: the cache was not used")

    monkeypatch.setattr(v, "_validate", must_not_run)  # forked workers inherit the patch
    again = v.validate_files(files, config, expected_period=P, today=TODAY, workers=2, use_cache=True)
    assert [r.path for r in again] == files
    for a, b in zip(first, again, strict=True):
        _same(a, b)


def test_a_file_that_kills_its_worker_costs_only_itself(config: Config, samples: dict[str, Path], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    files = [Path(shutil.copy2(p, tmp_path / p.name)) for p in samples.values()]
    bomb = tmp_path / "crash_me.xlsx"
    shutil.copy2(files[0], bomb)
    files.insert(2, bomb)
    real = v._validate

    def crashing(path: Path, *a: object) -> v.FileReport:
        if path.name == "crash_me.xlsx":
            os._exit(134)  # as a native reader aborting would
        return real(path, *a)

    monkeypatch.setattr(v, "_validate", crashing)  # forked workers inherit the patch
    reports = v.validate_files(files, config, expected_period=P, today=TODAY, workers=2)
    by_name = {r.path.name: r for r in reports}
    assert [i.code for i in by_name["crash_me.xlsx"].issues] == ["F013"]
    assert all(r.valid for name, r in by_name.items() if name != "crash_me.xlsx")
    assert [r.path for r in reports] == files


def _square_or_die(x: int) -> int:
    if x == 13:
        os._exit(134)  # a worker killed outright, as by a native crash
    if x == 7:
        raise ValueError("seven")
    return x * x


@pytest.mark.parametrize("use_fork", [True, False], ids=["fork", "executor"])
def test_parallel_map_isolates_crashes_and_raises_errors(use_fork: bool) -> None:
    from plan_reports.workers import parallel_map

    items = [x for x in range(20) if x != 7]
    got = dict(parallel_map(_square_or_die, items, 2, lambda: None, use_fork=use_fork))
    assert sorted(got) == list(range(len(items)))  # every index once
    assert got[items.index(13)] is None  # only the item that killed its worker is lost
    assert all(got[i] == x * x for i, x in enumerate(items) if x != 13)
    with pytest.raises(ValueError, match="seven"):
        list(parallel_map(_square_or_die, [1, 7, 2], 2, lambda: None, use_fork=use_fork))


def _die_everywhere(x: int) -> int:
    os._exit(1)


def test_parallel_map_when_every_worker_dies_loses_nothing_silently() -> None:
    from plan_reports.workers import parallel_map

    assert dict(parallel_map(_die_everywhere, list(range(7)), 2, lambda: None)) == dict.fromkeys(range(7))
