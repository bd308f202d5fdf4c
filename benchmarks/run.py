"""Benchmarks: whole-process timings, median of several runs, with ratios to baselines measured in the same run.

    .venv/bin/python benchmarks/run.py [--runs 5] [--only trackers]

Each case is a command run as a child process; its wall time and peak resident memory (from wait4) are recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BIN = Path(sys.executable).parent
CLI = str(BIN / "plan-reports")


@dataclass
class Result:
    name: str
    seconds: float
    peak_mb: float
    items: int

    @property
    def ms_per_item(self) -> float:
        return 1000 * self.seconds / max(self.items, 1)


def run_once(cmd: list[str], cwd: Path) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, 1):
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{err}")
    return elapsed, usage.ru_maxrss / 1024


def measure(name: str, cmd: list[str], cwd: Path, runs: int, items: int, setup: Callable[[], None] | None = None) -> Result:
    times, peaks = [], []
    for _ in range(runs):
        if setup:
            setup()
        t, m = run_once(cmd, cwd)
        times.append(t)
        peaks.append(m)
    return Result(name, statistics.median(times), max(peaks), items)


FLOOR_WRITE = """
import sys, openpyxl
out, n_files, rows, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for f in range(n_files):
    wb = openpyxl.Workbook(); ws = wb.active
    for r in range(rows):
        ws.append([f"cell {r} {c}" for c in range(cols)])
    wb.save(f"{out}/floor_{f}.xlsx")
"""


def bench_trackers(runs: int, work: Path) -> list[Result]:
    """(e) Generate every department's tracker for one period, against a plain openpyxl write of as many cells."""
    out = work / "trackers"
    out.mkdir(parents=True, exist_ok=True)
    period = "2025/26-Q2"
    ours = measure("trackers (all departments)", [CLI, "trackers", "--period", period, "--out", str(out)], REPO, runs, 6)
    import openpyxl

    cells = sum(ws.max_row * ws.max_column for p in out.glob("*.xlsx") for ws in openpyxl.load_workbook(p).worksheets)
    rows_per_file = cells // (6 * 20)
    floor = measure("baseline: openpyxl write, same cell count", [sys.executable, "-c", FLOOR_WRITE, str(out), "6",
                                                                   str(rows_per_file), "20"], REPO, runs, 6)
    return [floor, ours]


PPTX_FLOOR = """
import sys
from pptx import Presentation
from pptx.util import Inches
out, n_decks, n_slides = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for d in range(n_decks):
    prs = Presentation()
    for s in range(n_slides):
        slide = prs.slides.add_slide(prs.slide_layouts[5])
        slide.shapes.title.text = f"Slide {s}"
        slide.shapes.add_table(9, 7, Inches(0.5), Inches(1.5), Inches(9), Inches(5))
    prs.save(f"{out}/floor_{d}.pptx")
"""


def bench_decks(runs: int, work: Path) -> list[Result]:
    """(f) Build every Outcome Board deck and the summary for a half-year, against python-pptx writing as many slides."""
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run([CLI, "demo", "--out", str(work / "demo"), "--json"], check=True, capture_output=True)
    out = work / "decks"
    ours = measure("decks --all (one half-year)", [CLI, "decks", "--period", "2025/26-H1", "--all", "--out", str(out),
                                                   "--store", str(work / "demo" / "history.sqlite")], REPO, runs, 6)
    from pptx import Presentation

    n_slides = sum(len(Presentation(str(p)).slides) for p in out.glob("*.pptx"))
    floor = measure("baseline: python-pptx, same slide count", [sys.executable, "-c", PPTX_FLOOR, str(out), "6",
                                                                 str(n_slides // 6)], REPO, runs, 6)
    return [floor, ours]


BENCHMARKS: dict[str, Callable[[int, Path], list[Result]]] = {"trackers": bench_trackers, "decks": bench_decks}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", choices=sorted(BENCHMARKS), action="append")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    report: dict[str, list[dict[str, float | str]]] = {}
    with tempfile.TemporaryDirectory(prefix="plan-reports-bench-") as tmp:
        for name in args.only or list(BENCHMARKS):
            results = BENCHMARKS[name](args.runs, Path(tmp) / name)
            base = results[0]
            report[name] = [{"case": r.name, "seconds": round(r.seconds, 4), "ratio_to_baseline": round(r.seconds / base.seconds, 2),
                             "ms_per_item": round(r.ms_per_item, 1), "peak_mb": round(r.peak_mb, 1)} for r in results]
    if args.json:
        json.dump({"machine": platform.platform(), "cpus": os.cpu_count(), "date": datetime.now().isoformat(timespec="seconds"),
                   "results": report}, sys.stdout, indent=2)
        print()
        return 0
    print(f"{datetime.now():%Y-%m-%d %H:%M} on {platform.platform()} ({os.cpu_count()} cores), median of {args.runs} runs")
    for name, rows in report.items():
        print(f"\n{name}")
        print(f"  {'case':52} {'seconds':>9} {'x baseline':>11} {'ms/item':>9} {'peak MB':>8}")
        for r in rows:
            print(f"  {r['case']:52} {r['seconds']:>9.3f} {r['ratio_to_baseline']:>11.2f} {r['ms_per_item']:>9.1f} {r['peak_mb']:>8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
