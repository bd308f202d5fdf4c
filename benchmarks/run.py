"""Benchmarks: whole-process timings with ratios to baselines measured in the same run.

    .venv/bin/python benchmarks/run.py            # N = 10, 100, 200, 1000 (about 6 minutes on 2 cores)
    .venv/bin/python benchmarks/run.py --quick    # N = 10, 100, 200
    .venv/bin/python benchmarks/run.py --json

For each N it writes N realistic returns (`sample-submissions --count N`, not timed) and times, as whole processes
(median of --runs): (a) the floor, python-calamine reading every sheet of every file; (b) the naive peer,
pandas.read_excel(sheet_name=None, engine="openpyxl"); (c) `validate DIR`, cold (--no-cache) and warm (the
validation cache already holds these files); (d) `consolidate` into a fresh store, cold and warm; (e) `trackers`
for N service teams; (f) `decks --all`; (g) one file validated, against the peer reading that file.
Peak memory is each process's maximum resident set, from wait4.
The targets at N = 200 are checked and printed as PASS or FAIL; "cold" is a fresh validation cache with the config
already read once. Our package is byte-compiled first, as an
installed package is.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CLI = str(BIN / "plan-reports")
PERIOD = "2025/26-Q2"

FLOOR = """
import sys, glob
from python_calamine import CalamineWorkbook
for f in sorted(glob.glob(sys.argv[1] + "/**/*.xlsx", recursive=True)):
    wb = CalamineWorkbook.from_path(f)
    for name in wb.sheet_names:
        wb.get_sheet_by_name(name).to_python()
"""
PEER = """
import sys, glob
import pandas as pd
for f in sorted(glob.glob(sys.argv[1] + "/**/*.xlsx", recursive=True)):
    pd.read_excel(f, sheet_name=None, engine="openpyxl")
"""


@dataclass
class Result:
    case: str
    n: int
    seconds: float
    peak_mb: float
    runs: int

    @property
    def ms_per_item(self) -> float:
        return 1000 * self.seconds / max(self.n, 1)


def run_once(cmd: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"benchmark command failed ({code}): {' '.join(cmd)}\n{err}")
    return elapsed, usage.ru_maxrss / 1024


def measure(case: str, n: int, cmd: list[str], env: dict[str, str], runs: int,
            setup: Callable[[], None] | None = None, ok: tuple[int, ...] = (0,), best: bool = False) -> Result:
    """Median of `runs` (or the minimum, for start-up times, where noise only ever adds)."""
    times, peaks = [], []
    for _ in range(runs):
        if setup:
            setup()
        t, m = run_once(cmd, env, ok)
        times.append(t)
        peaks.append(m)
    return Result(case, n, min(times) if best else statistics.median(times), max(peaks), runs)


def bench_n(n: int, work: Path, runs: int, env: dict[str, str]) -> dict[str, Result]:
    subs = work / f"n{n}" / "returns"
    subprocess.run([CLI, "sample-submissions", "--period", PERIOD, "--out", str(subs), "--count", str(n), "--json"],
                   check=True, capture_output=True, env=env)
    store = work / f"n{n}" / "store.sqlite"
    out = work / f"n{n}" / "out"

    def fresh_store() -> None:
        for p in store.parent.glob("store.sqlite*"):
            p.unlink()

    def cold_cache() -> None:
        shutil.rmtree(Path(env["XDG_CACHE_HOME"]) / "plan-reports" / "validation.sqlite", ignore_errors=True)
        for p in (Path(env["XDG_CACHE_HOME"]) / "plan-reports").glob("validation.sqlite*"):
            p.unlink()

    def cold_and_fresh() -> None:
        cold_cache()
        fresh_store()

    r: dict[str, Result] = {}
    r["floor"] = measure("(a) floor: calamine, every sheet", n, [sys.executable, "-c", FLOOR, str(subs)], env, runs)
    peer_runs = 1 if n >= 1000 else runs
    r["peer"] = measure("(b) naive peer: pandas + openpyxl", n, [sys.executable, "-c", PEER, str(subs)], env, peer_runs)
    validate = [CLI, "validate", str(subs)]
    problems = (0, 1)  # validate and consolidate exit 1 when they find problems: that is a result, not a failure
    r["validate_cold"] = measure("(c) validate, cold", n, [*validate, "--no-cache"], env, runs, ok=problems)
    run_once(validate, env, problems)  # prime the validation cache
    r["validate_warm"] = measure("(c) validate, warm cache", n, validate, env, runs, ok=problems)
    consolidate = [CLI, "consolidate", "--period", PERIOD, "--submissions", str(subs), "--store", str(store), "--out", str(out)]
    r["consolidate_cold"] = measure("(d) consolidate, cold, fresh store", n, consolidate, env, runs, cold_and_fresh, problems)
    run_once(validate, env, problems)
    r["consolidate_warm"] = measure("(d) consolidate, warm cache, fresh store", n, consolidate, env, runs, fresh_store,
                                    problems)
    r["trackers"] = measure("(e) trackers for N teams", n, [CLI, "trackers", "--period", PERIOD, "--teams", str(n), "--out",
                                                            str(work / f"n{n}" / "trackers"), "--store", str(work / "none")],
                            env, runs)
    run_once(consolidate, env, problems)
    r["decks"] = measure("(f) decks --all (H1)", n, [CLI, "decks", "--period", "2025/26-H1", "--all", "--out",
                                                     str(work / f"n{n}" / "decks"), "--store", str(store)], env, runs)
    one = work / f"n{n}" / "one"  # the ribbon's "Validate this workbook": one file, isolated worker and all
    one.mkdir(exist_ok=True)
    first = shutil.copy2(next(iter(sorted(subs.rglob("*.xlsx")))), one)
    r["validate_one"] = measure("(g) validate one file, cold", 1, [*validate[:2], str(first), "--no-cache"], env, runs,
                                ok=problems)
    r["peer_one"] = measure("(g) naive peer, one file", 1, [sys.executable, "-c", PEER, str(one)], env, runs)
    return r


def ribbon_import_seconds(env: dict[str, str], runs: int) -> float:
    """Cumulative import time of the ribbon's entry module, from python -X importtime (median)."""
    times = []
    for _ in range(runs * 3):
        err = subprocess.run([sys.executable, "-X", "importtime", "-c", "import plan_reports.ribbon"], env=env,
                             capture_output=True, text=True, check=True).stderr
        line = next(x for x in err.splitlines() if x.rstrip().endswith("| plan_reports.ribbon"))
        times.append(int(line.split("|")[1]) / 1e6)
    return statistics.median(times)


def department_trackers(work: Path, env: dict[str, str], runs: int) -> Result:
    """Every department's tracker for one period, as a performance officer makes them each quarter."""
    return measure("trackers: every department, one period", 6, [CLI, "trackers", "--period", PERIOD, "--out",
                                                                  str(work / "dept-trackers"), "--store", str(work / "none")],
                   env, runs)


def startup(env: dict[str, str], runs: int) -> tuple[Result, Result]:
    imp = measure("python -c 'import plan_reports'", 1, [sys.executable, "-c", "import plan_reports"], env, 15, best=True)
    ver = measure("plan-reports --version", 1, [CLI, "--version"], env, 15, best=True)
    return imp, ver


def targets(all_r: dict[int, dict[str, Result]], imp: Result, ver: Result,
            ribbon: float) -> list[tuple[str, float, str, bool]]:
    out = [("ribbon entry module import (s, -X importtime)", ribbon, "< 0.5", ribbon < 0.5)]
    if 200 in all_r:  # targets that can be met with every file read in an isolated, spawned worker
        r = all_r[200]
        f = r["floor"].seconds
        for key, label, limit in (("validate_cold", "validate (cold) / floor", 3.0),
                                  ("consolidate_cold", "consolidate (cold) / floor", 4.0)):
            out.append((label, r[key].seconds / f, f"<= {limit:g}", r[key].seconds / f <= limit))
        ratio = r["peer"].seconds / r["consolidate_cold"].seconds
        out.append(("naive peer / consolidate (cold)", ratio, ">= 5.0", ratio >= 5))
        one = r["validate_one"].seconds / r["peer_one"].seconds
        out.append(("validate one file / peer reading it", one, "<= 1.0", one <= 1.0))
    if 100 in all_r and 1000 in all_r:
        for key in ("validate_cold", "consolidate_cold"):
            ratio = all_r[1000][key].seconds / all_r[100][key].seconds
            out.append((f"{key.replace('_', ' ')}: N=1000 / N=100", ratio, "<= 11.0", ratio <= 11))
        peak = max(x.peak_mb for x in all_r[1000].values() if not x.case.startswith("(b)"))
        out.append(("peak memory at N=1000 (MB), ours", peak, "< 500", peak < 500))
    out.append(("--version / import plan_reports", ver.seconds / imp.seconds, "< 2.0", ver.seconds / imp.seconds < 2))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="N = 10, 100, 200 only")
    ap.add_argument("--n", type=int, action="append", help="sizes to run (repeatable)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    sizes = args.n or ([10, 100, 200] if args.quick else [10, 100, 200, 1000])
    # As installed (pip compiles bytecode): without this, PYTHONDONTWRITEBYTECODE would make every timed process
    # compile our modules from source.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src")], check=True)
    all_r: dict[int, dict[str, Result]] = {}
    with tempfile.TemporaryDirectory(prefix="plan-reports-bench-") as tmp:
        env = dict(os.environ, XDG_CACHE_HOME=str(Path(tmp) / "cache"))
        for n in sizes:
            print(f"N = {n} ...", file=sys.stderr)
            all_r[n] = bench_n(n, Path(tmp), args.runs, env)
        imp, ver = startup(env, args.runs)
        ribbon = ribbon_import_seconds(env, args.runs)
        depts = department_trackers(Path(tmp), env, args.runs)
    checks = targets(all_r, imp, ver, ribbon)
    meta = {"date": datetime.now().isoformat(timespec="seconds"), "machine": platform.platform(),
            "cpus": os.cpu_count(), "python": platform.python_version(), "runs": args.runs}
    if args.json:
        json.dump({**meta, "results": {n: {k: vars(v) for k, v in r.items()} for n, r in all_r.items()},
                   "department_trackers": vars(depts),
                   "startup": {"import": imp.seconds, "version": ver.seconds},
                   "targets": [{"check": c, "value": round(v, 3), "target": t, "pass": p} for c, v, t, p in checks]},
                  sys.stdout, indent=2)
        print()
        return 0
    print(f"{meta['date']} on {meta['machine']} ({meta['cpus']} cores, Python {meta['python']}), median of {args.runs} runs")
    for n, r in all_r.items():
        floor, peer = r["floor"].seconds, r["peer"].seconds
        print(f"\nN = {n} returns")
        print(f"  {'case':42} {'seconds':>8} {'x floor':>8} {'x peer':>7} {'ms/return':>10} {'peak MB':>8}")
        for x in r.values():
            print(f"  {x.case:42} {x.seconds:>8.3f} {x.seconds / floor:>8.2f} {x.seconds / peer:>7.2f} {x.ms_per_item:>10.1f} "
                  f"{x.peak_mb:>8.1f}" + ("  (1 run)" if x.runs == 1 else ""))
    print(f"\n{depts.case}: {depts.seconds:.2f} s ({depts.ms_per_item:.0f} ms per department)")
    print(f"start-up: import plan_reports {imp.seconds * 1000:.0f} ms, plan-reports --version {ver.seconds * 1000:.0f} ms")
    print("\ntargets")
    for c, v, t, p in checks:
        print(f"  {'PASS' if p else 'FAIL'}  {c:40} {v:8.2f}  (target {t})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
