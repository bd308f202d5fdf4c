"""Commands on the store's records: publishing and locking periods, restatements, the audit log, imported history
and the agreed-target register. Each parses its arguments, calls one core function and maps the outcome to an exit
code, as every command does (see `cli`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from plan_reports.cli_common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    UsageError,
    config_of,
    existing_store,
    period_arg,
    print_json,
    say,
    store_path,
    warn_outside_plans,
)

if TYPE_CHECKING:
    import argparse
    from typing import Any


def _locked_store(args: argparse.Namespace, cfg: Any) -> Any:
    """The store opened under its lock, for commands that write to it."""
    import contextlib

    from plan_reports.store import connect, store_lock

    store = existing_store(args, cfg)

    @contextlib.contextmanager
    def opened() -> Any:
        with store_lock(store, notify=say):
            con = connect(store)
            try:
                yield con
            finally:
                con.close()

    return opened()


def cmd_publish(args: argparse.Namespace) -> int:
    from plan_reports.publish import publish

    cfg = config_of(args)
    period = period_arg(args.period)
    with _locked_store(args, cfg) as con:
        res = publish(con, cfg, period, note=args.note)
    if args.json:
        print_json(res.to_dict())
    else:
        print(res.message)
    return EXIT_OK if res.ok else EXIT_PROBLEMS


def cmd_unlock(args: argparse.Namespace) -> int:
    from plan_reports.publish import unlock

    cfg = config_of(args)
    period = str(period_arg(args.period))
    if not args.reason.strip():
        raise UsageError("--reason must say why the period is unlocked")
    with _locked_store(args, cfg) as con:
        ok, message = unlock(con, period, args.reason.strip())
    if args.json:
        print_json({"period": period, "unlocked": ok, "message": message})
    else:
        print(message)
    return EXIT_OK if ok else EXIT_PROBLEMS


def cmd_restatements(args: argparse.Namespace) -> int:
    from plan_reports.publish import restatements
    from plan_reports.store import connect

    cfg = config_of(args)
    period = str(period_arg(args.period)) if args.period else None
    con = connect(existing_store(args, cfg))
    try:
        rows = restatements(con, cfg, period)
    finally:
        con.close()
    if args.json:
        print_json({"period": period, "restatements": rows})
    else:
        from plan_reports.report import print_restatements

        print_restatements(rows)
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    from plan_reports.publish import audit, not_covered
    from plan_reports.store import connect

    cfg = config_of(args)
    period = str(period_arg(args.period)) if args.period else None
    con = connect(existing_store(args, cfg))
    try:
        events, missing = audit(con, period), not_covered(con)
    finally:
        con.close()
    if args.json:
        print_json({"period": period, "events": events, "not_covered": missing})
    else:
        for e in events:
            print(f"{e['at']}  {e['event']:<19} {e['period'] or '':<11} {e['detail']}" + (f" [{e['by']}]" if e["by"] else ""))
        print(f"{len(events)} event(s)." + (f" Not covered: {'; '.join(missing)}" if missing else ""))
    return EXIT_OK


def cmd_history_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from plan_reports.history import HistoryImportError, ImportResult, import_history
    from plan_reports.store import connect, store_lock

    cfg = config_of(args)
    where = {}
    for w in args.where or []:
        if "=" not in w:
            raise UsageError(f"--where takes COLUMN=VALUE, not {w!r}")
        k, v = w.split("=", 1)
        where[k.strip()] = v.strip()
    groups = [g.id for g in cfg.organisation.comparator_groups]
    if args.group is not None and args.group not in groups:
        raise UsageError(f"unknown comparator group {args.group!r} (known: {', '.join(groups)})")
    _require_files(args.files)
    store = store_path(args, cfg)
    results = []
    with store_lock(store, notify=say):
        con = connect(store)
        try:
            for f in args.files:  # each file is its own transaction: one refused file leaves the others imported
                try:
                    results.append(import_history(con, Path(f), cfg, group=args.group, where=where))
                except (HistoryImportError, OSError) as e:
                    results.append(ImportResult(Path(f).name, "", status="refused", message=str(e)))
        finally:
            con.close()
    from plan_reports.report import print_imports

    return _report_imports(args, store, results, print_imports)


def cmd_targets_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from plan_reports.targets import export_targets

    cfg = config_of(args)
    year = period_arg(args.year)
    if year.kind != "Y":
        raise UsageError(f"targets are agreed for a financial year: give {year.year_label}, not {year}")
    if args.department and args.department not in {d.id for d in cfg.organisation.departments}:
        raise UsageError(f"unknown department {args.department!r}")
    store = store_path(args, cfg)
    warning = warn_outside_plans(cfg, year)
    written = export_targets(cfg, year, Path(args.out), store if store.exists() else None,
                             [args.department] if args.department else None)
    if args.json:
        print_json({"year": str(year), "files": [str(p) for p in written], "warning": warning})
    else:
        for p in written:
            print(f"wrote {p}")
    return EXIT_OK


def cmd_targets_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from plan_reports.store import connect, store_lock
    from plan_reports.targets import import_targets, print_target_imports

    cfg = config_of(args)
    _require_files(args.files)
    store = store_path(args, cfg)
    with store_lock(store, notify=say):
        con = connect(store)
        try:
            results = import_targets(con, [Path(f) for f in args.files], cfg, agreed_by=args.agreed_by)
        finally:
            con.close()
    return _report_imports(args, store, results, print_target_imports)


def _require_files(files: list[str]) -> None:
    from pathlib import Path

    missing = [f for f in files if not Path(f).is_file()]
    if missing:
        raise UsageError(f"no such file: {', '.join(missing)}")


def _report_imports(args: argparse.Namespace, store: Any, results: list[Any], printer: Any) -> int:
    """Every file's outcome, as JSON or text; the exit code is the worst of them (one refused file is exit 1)."""
    if args.json:
        print_json({"store": str(store), "imports": [r.to_dict() for r in results]})
    else:
        printer(results)
    return EXIT_OK if all(r.ok for r in results) else EXIT_PROBLEMS


def cmd_history_show(args: argparse.Namespace) -> int:
    from plan_reports.history import query
    from plan_reports.store import connect

    cfg = config_of(args)
    store = existing_store(args, cfg)
    con = connect(store)
    try:
        from plan_reports.publish import submitted_values

        rows = query(con, args.indicator, args.period)
        returns = submitted_values(con, args.indicator, args.period)  # the council's own returns, file and cell
    finally:
        con.close()
    if args.json:
        print_json({"indicator": args.indicator, "values": rows, "returns": returns})
    else:
        for r in rows:
            value = "" if r["value"] is None else f"{r['value']:g}"
            print(f"{r['period_label']:<46} {r['area_code']:<10} {r['area_name']:<32} {value:>10}  "
                  f"{r['file_name']} row {r['source_row']}")
        print(f"{len(rows)} value(s), in date order")
        for r in returns:
            value = "" if r["value"] is None else f"{r['value']:g}"
            print(f"{r['period']:<11} {value:>10}  {r['file_name']} {r['sheet'] or ''}!{r['cell'] or '?'} "
                  f"({r['department']}{' ' + r['team'] if r['team'] else ''}, received {r['submitted_at']})"
                  + ("" if r["current"] else " superseded"))
        print(f"{len(returns)} value(s) from returns")
    return EXIT_OK
