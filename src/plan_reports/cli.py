"""`plan-reports`: a thin adapter. Parse arguments, call one core function, map errors to exit codes.

Exit codes: 0 success, 1 problems found (invalid config or submissions), 2 usage error or nothing readable,
3 an internal error (a bug: the traceback goes to the log file named in the message, never to the user).
Heavy libraries are imported inside the command functions so `--version` and `--help` start fast.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from plan_reports import __version__
from plan_reports.cli_common import (
    EXIT_CRASH,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    UsageError,
    config_of,
    existing_store,
    now_arg,
    period_arg,
    print_json,
    progress_bar,
    say,
    store_path,
    warn_outside_plans,
)

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from pathlib import Path
    from typing import Any

def cmd_plan_show(args: argparse.Namespace) -> int:
    from plan_reports.plan import plan_tree, render_tree

    cfg = config_of(args)
    plan = cfg.plan(_plan_id(cfg, args.plan))
    if args.json:
        print_json(plan_tree(plan))
    else:
        from rich.console import Console

        Console().print(render_tree(plan))
    return EXIT_OK


def _plan_id(cfg: Any, given: str | None) -> str | None:
    """A plan named by its id (2018-22) or by its file (config/plans/2018-22.yaml), as people type either."""
    from pathlib import Path

    if given is None or given in cfg.plans or not (given.endswith((".yaml", ".yml")) or "/" in given or "\\" in given):
        return given
    path = Path(given).resolve()
    folder = (Path(cfg.root) / "plans").resolve()
    if path.parent != folder:
        raise UsageError(f"{given} is not a plan file of the config in {cfg.root}: use its id "
                         f"({', '.join(sorted(cfg.plans))}), or --config for another config folder")
    import yaml

    try:
        plan_id = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("id")
    except OSError as e:
        raise UsageError(f"cannot read {given}: {e.strerror}") from None
    if plan_id not in cfg.plans:
        raise UsageError(f"{given} does not hold a plan of this config")
    return str(plan_id)


def cmd_plan_check(args: argparse.Namespace) -> int:
    from plan_reports.config import ConfigError
    from plan_reports.plan import audit_problems, plan_counts

    cfg = config_of(args)  # raises ConfigError listing every problem
    plan_id = _plan_id(cfg, args.plan)
    plans = [cfg.plan(plan_id)] if plan_id else list(cfg.plans.values())
    problems = audit_problems(cfg, plans)  # every baseline and target traceable to a seed; plausible bounds
    if problems:
        raise ConfigError(problems)
    result = {"valid": True, "config": str(cfg.root), "plans": {p.id: plan_counts(p) for p in plans}}
    if args.json:
        print_json(result)
    else:
        for p in plans:
            c = result["plans"][p.id]
            print(f"OK  {p.id}: {c['outcomes']} outcomes, {c['sub_outcomes']} sub-outcomes, {c['aims']} aims, "
                  f"{c['commitments']} commitments, {c['indicators']} indicators, {c['enabling_sections']} enabling sections")
    return EXIT_OK


def cmd_trackers(args: argparse.Namespace) -> int:
    from pathlib import Path

    from plan_reports.trackers import write_trackers

    cfg = config_of(args)
    period = period_arg(args.period)
    warning = warn_outside_plans(cfg, period)
    depts = [args.department] if args.department else None
    store = Path(args.store) if args.store else Path(cfg.settings.store)
    if args.teams is not None and args.teams < 1:
        raise UsageError("--teams must be at least 1")
    if args.previous:
        from plan_reports.rollforward import previous_returns_prefill

        prefills = previous_returns_prefill(cfg, period, Path(args.previous))
        written = write_trackers(cfg, period, Path(args.out), departments=depts, teams=args.teams, prefills=prefills)
    else:
        written = write_trackers(cfg, period, Path(args.out), departments=depts, store=store if store.exists() else None,
                                 teams=args.teams)
    if args.json:
        print_json({"period": str(period), "files": [str(p) for p in written], "warning": warning})
    else:
        for p in written:
            print(f"wrote {p}")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from plan_reports.validate import annotate_all, find_submissions, validate_files

    cfg = config_of(args)
    expected = period_arg(args.period) if args.period else None
    if expected is not None:
        warn_outside_plans(cfg, expected)
    skipped: list[tuple[Path, str]] = []
    files, missing = find_submissions(args.paths, skipped)
    for m in missing:
        print(f"plan-reports: no such file or folder: {m}", file=sys.stderr)
    for f, why in skipped:
        print(f"plan-reports: {f.name}: {why}", file=sys.stderr)
    if not files:
        print("plan-reports: no workbooks to validate", file=sys.stderr)
        return EXIT_USAGE
    with progress_bar(0 if args.json else len(files), "Validating") as tick:
        reports = validate_files(files, cfg, expected_period=expected, progress=tick, use_cache=not args.no_cache)
    annotated = annotate_all(reports, Path(args.annotate)) if args.annotate else {}
    if args.json:
        data = {"files": [r.to_dict() | ({"annotated": annotated[str(r.path)]} if str(r.path) in annotated else {})
                          for r in reports]}
        print_json(data)
    else:
        from plan_reports.report import print_validation

        print_validation(reports, annotated)
    if not any(r.readable for r in reports) or missing:
        return EXIT_USAGE
    return EXIT_OK if all(r.valid for r in reports) else EXIT_PROBLEMS


def cmd_sample_submissions(args: argparse.Namespace) -> int:
    from pathlib import Path

    from plan_reports.samples import write_samples

    cfg = config_of(args)
    period = period_arg(args.period)
    n = args.count if args.count is not None else len(cfg.organisation.departments)
    if args.count is not None and args.count < 1:
        raise UsageError("--count must be at least 1")
    with progress_bar(0 if args.json else n, "Writing samples") as tick:
        written = write_samples(cfg, period, Path(args.out), count=args.count, seed=args.seed, progress=tick)
    if args.json:
        print_json({"period": str(period), "seed": args.seed, "files": [str(p) for p in written]})
    else:
        print(f"wrote {len(written)} sample submission(s) for {period} to {args.out}")
    return EXIT_OK


def cmd_consolidate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from plan_reports.consolidate import consolidate
    from plan_reports.validate import find_submissions

    cfg = config_of(args)
    period = period_arg(args.period)
    folder = Path(args.submissions)
    if not folder.is_dir():
        raise UsageError(f"no such folder: {folder}")
    n = len(find_submissions([folder])[0])
    with progress_bar(0 if args.json else n, "Validating returns") as tick:
        result = consolidate(cfg, period, folder, store_path(args, cfg), Path(args.out or cfg.settings.outputs),
                             progress=tick, notify=say, use_cache=not args.no_cache)
    if args.json:
        print_json(result.to_dict())
    else:
        from plan_reports.report import print_consolidation

        print_consolidation(result)
    return EXIT_OK if all(s.accepted for s in result.statuses) else EXIT_PROBLEMS


def cmd_score(args: argparse.Namespace) -> int:
    import json

    from plan_reports.publish import latest_publication, live_snapshot, publication_meta, scores_from_dict
    from plan_reports.store import connect

    cfg = config_of(args)
    period = period_arg(args.period)
    store = existing_store(args, cfg)
    con = connect(store)
    try:  # the published snapshot when there is one (what was reported), else, or with --live, the data now
        pub = latest_publication(con, str(period))
        meta = publication_meta(con, pub) if pub else None
        live = args.live or pub is None
        snap = live_snapshot(con, cfg, period) if live else json.loads(pub["scores_json"])
    finally:
        con.close()
    from plan_reports.report import print_scores

    if args.json:
        print_json({**snap, "live": live, "publication": meta})
    else:
        print_scores(scores_from_dict(snap))
        if meta:
            print(f"\n{'Live data; ' if live else ''}published version {meta['version']} on {meta['published_at']} by "
                  f"{meta['published_by']}" + ("" if live else "; --live for the data as it is now"))
    return EXIT_OK


def cmd_decks(args: argparse.Namespace) -> int:
    from pathlib import Path

    from plan_reports.decks import TemplateError, write_decks

    cfg = config_of(args)
    half = period_arg(args.period)
    if half.kind != "H":
        raise UsageError(f"decks are six-monthly: give a half-year such as {half.half()}")
    store = existing_store(args, cfg)
    try:
        written = write_decks(cfg, half, store, Path(args.out), board=None if args.all else args.board,
                              template=Path(args.template) if args.template else None)
    except (TemplateError, ValueError) as e:
        raise UsageError(str(e)) from None
    if args.json:
        print_json({"period": str(half), "decks": [str(p) for p in written]})
    else:
        for p in written:
            print(f"wrote {p}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from plan_reports.demo import run_demo

    cfg = config_of(args)
    out = Path(args.out)
    started = time.monotonic()
    quiet = args.json

    def step(message: str) -> None:
        if not quiet:
            print(f"  {message}...", file=sys.stderr)

    res = run_demo(cfg, out, step=step)
    seconds = time.monotonic() - started
    data = {"out": str(res.out), "store": str(res.store), "returns": str(res.returns),
            "consolidated_workbook": str(res.consolidated) if res.consolidated else None,
            "trackers": [str(p) for p in res.trackers], "decks": [str(p) for p in res.decks],
            "annotated": [str(p) for p in res.annotated], "comparators": [str(p) for p in res.comparators],
            "scrutiny": [str(p) for p in res.extra.get("scrutiny", [])], "annual": [str(p) for p in res.extra.get("annual", [])],
            "latest_returns": res.latest_statuses, "seconds": round(seconds, 1)}
    if args.json:
        print_json(data)
        return EXIT_OK
    print(f"\nDemo finished in {seconds:.0f}s. Everything is under {res.out}/:")
    print(f"  returns (8 quarters x 6 departments)  {res.returns}/")
    print(f"  history store (SQLite)                {res.store}")
    print(f"  consolidated workbook, 2025/26-Q2     {res.consolidated}")
    print(f"  latest returns                        {'; '.join(res.latest_statuses)}")
    for p in res.annotated:
        print(f"  marked-up invalid return              {p}")
    print(f"  next quarter's trackers               {res.out / 'trackers'}/ ({len(res.trackers)} files)")
    print(f"  Outcome Board decks, 2025/26-H1       {res.out / 'decks'}/ ({len(res.decks)} files)")
    for p in res.decks:
        print(f"      {p.name}")
    for label, key in (("Scrutiny report, 2025/26-Q2", "scrutiny"), ("Annual Performance Report 2024/25", "annual")):
        for p in res.extra.get(key, []):
            print(f"  {label:<38}{p}")
    return EXIT_OK


def cmd_schedule_next(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from plan_reports.periods import Period
    from plan_reports.scheduler import occurrences

    cfg = config_of(args)
    now = now_arg(args)
    upcoming = [o for o in occurrences(cfg, now.date(), (now + timedelta(days=args.days)).date()) if o.due >= now]
    rows: list[dict[str, str]] = []
    latest = max(cfg.plans.values(), key=lambda p: p.last_period().end)
    if latest.last_period().end <= (now + timedelta(days=args.days)).date():
        ended = "ended" if latest.last_period().end < now.date() else "ends"
        rows.append({"due": now.isoformat(timespec="minutes"), "job": "reminder", "period": str(latest.last_period()),
                     "note": f"the next plan file is due: {latest.id} {ended} with {latest.last_period()}; add the new "
                             f"plan to {cfg.root / 'plans'} or set extended_until in {latest.id}'s file"})
    for o in upcoming:
        if (w := cfg.outside_every_plan(Period.parse(o.period))) and not any(r["job"] == "warning" for r in rows):
            rows.append({"due": now.isoformat(timespec="minutes"), "job": "warning", "period": o.period, "note": w})
    for o in upcoming:  # the daily re-runs of a consolidation are one line: "daily until ..."
        daily = [x for x in upcoming if x.job == "consolidate" and x.period == o.period and x.note != "first run"]
        if o.job == "consolidate" and o.note != "first run":
            if o is daily[0]:
                rows.append({"due": o.due.isoformat(timespec="minutes"), "job": o.job, "period": o.period,
                             "note": f"then daily until every return is in, at most until {daily[-1].due:%Y-%m-%d}"})
            continue
        rows.append({"due": o.due.isoformat(timespec="minutes"), "job": o.job, "period": o.period, "note": o.note})
    if args.json:
        print_json({"now": now.isoformat(timespec="minutes"), "upcoming": rows})
    else:
        for r in rows:
            print(f"{r['due']}  {r['job']:<12} {r['period']:<11} {r['note']}")
        print(f"{len(rows)} job(s) in the next {args.days} days")
    return EXIT_OK


def cmd_schedule_status(args: argparse.Namespace) -> int:
    from pathlib import Path

    from plan_reports.scheduler import status
    from plan_reports.store import connect

    cfg = config_of(args)
    store = Path(cfg.settings.store)
    if not store.exists():
        raise UsageError(f"no history store at {store}: nothing has run yet")
    con = connect(store)
    try:
        runs = status(con, args.limit)
    finally:
        con.close()
    if args.json:
        print_json({"runs": runs})
    else:
        for r in runs:
            print(f"{r['started_at'][:16]}  {r['job']:<12} {r['period'] or '':<11} {r['outcome']:<8} {r['error'] or ''}")
        print(f"{len(runs)} run(s) shown; upcoming: plan-reports schedule next")
    return EXIT_OK


def cmd_schedule_once(args: argparse.Namespace) -> int:
    from plan_reports.scheduler import RUNNERS, run_once

    cfg = config_of(args)
    now = now_arg(args)
    if args.job and args.job not in RUNNERS:
        raise UsageError(f"--job is one of {', '.join(RUNNERS)}")
    period = str(period_arg(args.period)) if args.period else None
    done = run_once(cfg, now, job=args.job, period=period, dry_run=args.dry_run)
    rows = [{"job": o.job, "period": o.period, "due": o.due.isoformat(timespec="minutes"), "outcome": out} for o, out in done]
    if args.json:
        print_json({"now": now.isoformat(timespec="minutes"), "runs": rows})
    else:
        for r in rows:
            print(f"{r['job']:<12} {r['period']:<11} due {r['due']}: {r['outcome']}")
        print(f"{len(rows)} job(s)" + (" (dry run)" if args.dry_run else ""))
    return EXIT_PROBLEMS if any(str(r["outcome"]).startswith("failed") for r in rows) else EXIT_OK


def cmd_schedule_run(args: argparse.Namespace) -> int:
    from plan_reports.scheduler import AlreadyRunning, serve

    cfg = config_of(args)
    fixed = now_arg(args) if args.now else None
    clock = (lambda: fixed) if fixed else None
    try:
        kwargs = {"clock": clock} if clock else {}
        return serve(cfg, tick_seconds=args.tick_seconds, say=lambda m: print(m, flush=True), **kwargs)
    except AlreadyRunning as e:
        print(f"plan-reports: {e}", file=sys.stderr)
        return EXIT_PROBLEMS


def cmd_addin_build(args: argparse.Namespace) -> int:
    from pathlib import Path

    from plan_reports.addin import XlwingsMissing, build

    try:
        res = build(Path(args.out))
    except XlwingsMissing as e:  # the optional excel extra is not installed: say what to install, no traceback
        print(f"plan-reports: {e}", file=sys.stderr)
        return EXIT_PROBLEMS
    data = {"kit": str(res.kit), "xlam": str(res.xlam) if res.xlam else None, "note": res.note,
            "files": [str(p) for p in res.files]}
    if args.json:
        print_json(data)
    else:
        print(res.note)
        print(f"kit: {res.kit}")
    return EXIT_OK


def cmd_addin_install(args: argparse.Namespace) -> int:
    from pathlib import Path

    from plan_reports.addin import install

    try:
        res = install(Path(args.xlam), target_dir=Path(args.dir) if args.dir else None,
                      config=Path(args.config) if args.config else None)
    except FileNotFoundError as e:
        raise UsageError(str(e)) from None
    print(f"add-in: {res.xlam}\ninterpreter recorded in {res.xlwings_conf}\nconfig folder recorded in {res.config_record}")
    print("Restart Excel: the Strategic Plan tab appears on the ribbon.")
    return EXIT_OK


def cmd_scrutiny(args: argparse.Namespace) -> int:
    from pathlib import Path

    from plan_reports.scrutiny import write_scrutiny

    cfg = config_of(args)
    period = period_arg(args.period)
    store = existing_store(args, cfg)
    try:
        reports = write_scrutiny(cfg, period, store, Path(args.out), None if args.all else args.committee)
    except ValueError as e:
        raise UsageError(str(e)) from None
    data = [{"committee": r.committee, "docx": str(r.docx), "pdf": str(r.pdf) if r.pdf else None, "xlsx": str(r.xlsx),
             "directions": r.directions, "rag": r.rags} for r in reports]
    if args.json:
        print_json({"period": str(period), "reports": data})
    else:
        for r in reports:
            print(f"{r.committee}: {r.docx}" + (f", {r.pdf}" if r.pdf else "") + f", {r.xlsx}")
    return EXIT_OK


def cmd_annual_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from plan_reports.scrutiny import write_annual_report

    cfg = config_of(args)
    year = period_arg(args.year)
    store = existing_store(args, cfg)
    try:
        docx, pdf = write_annual_report(cfg, year, store, Path(args.out))
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.json:
        print_json({"year": str(year), "docx": str(docx), "pdf": str(pdf) if pdf else None})
    else:
        print(f"wrote {docx}" + (f" and {pdf}" if pdf else ""))
    return EXIT_OK


def run() -> None:
    """The console script."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # the reader stopped early (| head): end quietly, as Python's documentation advises
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_PROBLEMS
    sys.exit(code)


def _crash_log(e: BaseException) -> str:
    """Write the traceback of an internal error to the user's log folder; the path, for the message."""
    import traceback
    from datetime import datetime

    from platformdirs import user_log_path

    try:
        folder = user_log_path("plan-reports", appauthor=False)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "errors.log"
        with path.open("a", encoding="utf-8") as f:
            f.write(f"--- {datetime.now().isoformat(timespec='seconds')} plan-reports {' '.join(sys.argv[1:])}\n")
            f.write("".join(traceback.format_exception(e)))
        return str(path)
    except OSError:
        return "(no log folder could be written)"


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in == ["--version"]:  # answered before building the parser: a ribbon or a script checking us starts fast
        print(f"plan-reports {__version__}")
        return EXIT_OK
    from plan_reports.cli_args import build_parser

    parser = build_parser()
    args = parser.parse_args(args_in)
    handler = getattr(args, "handler", None)
    func: Callable[[argparse.Namespace], int] | None = None
    if handler:
        from plan_reports import cli_records

        func = globals().get(f"cmd_{handler}") or getattr(cli_records, f"cmd_{handler}", None)
    if func is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    from plan_reports.config import ConfigError

    try:
        return func(args)
    except ConfigError as e:
        if getattr(args, "json", False):
            print_json({"valid": False, "problems": [p.__dict__ for p in e.problems]})
        else:
            print(f"The config has {len(e.problems)} problem(s):", file=sys.stderr)
            for prob in e.problems:
                print(f"  {prob}", file=sys.stderr)
        return EXIT_PROBLEMS
    except UsageError as e:
        print(f"plan-reports: {e}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as e:
        from plan_reports.atomic import OutputInUse
        from plan_reports.store import StoreBusy

        if isinstance(e, (StoreBusy, OutputInUse)):
            print(f"plan-reports: {e}", file=sys.stderr)
            return EXIT_PROBLEMS
        if isinstance(e, BrokenPipeError):
            raise
        print(f"plan-reports: internal error ({type(e).__name__}: {e}). Nothing was left half-written. Please report "
              f"it with the details logged in {_crash_log(e)}", file=sys.stderr)
        return EXIT_CRASH
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
