"""What every command of the command line shares: exit codes, usage errors, config, periods, the store, output.

Kept apart from `cli` (the commands) so the commands that work on the store's records (`cli_records`) share it
without importing `cli`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from pathlib import Path
    from typing import Any

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_CRASH = 0, 1, 2, 3


class UsageError(Exception):
    """Bad arguments: exit code 2 with a one-line message."""


def print_json(data: Any) -> None:
    import json

    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def config_of(args: argparse.Namespace) -> Any:
    from plan_reports.config import load_config

    return load_config(args.config)


def period_arg(text: str) -> Any:
    from plan_reports.periods import Period, PeriodError

    try:
        return Period.parse(text)
    except PeriodError as e:
        raise UsageError(str(e)) from None

def warn_outside_plans(cfg: Any, period: Any) -> str | None:
    """Say on stderr when a period is outside every plan; the warning, for --json output."""
    warning = cfg.outside_every_plan(period)
    if warning:
        print(f"plan-reports: warning: {warning}", file=sys.stderr)
    return warning

def progress_bar(total: int, label: str) -> Any:
    """A rich progress bar on a terminal; nothing when output is piped or --json is used."""
    import contextlib

    if not sys.stderr.isatty() or total < 2:
        return contextlib.nullcontext(lambda: None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    @contextlib.contextmanager
    def bar() -> Any:
        with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True) as p:
            task = p.add_task(label, total=total)
            yield lambda: p.advance(task)

    return bar()

def say(message: str) -> None:
    print(message, file=sys.stderr)


def existing_store(args: argparse.Namespace, cfg: Any) -> Path:
    store = store_path(args, cfg)
    if not store.exists():
        raise UsageError(f"no history store at {store}: run consolidate first, or give --store")
    return store


def store_path(args: argparse.Namespace, cfg: Any) -> Path:
    from pathlib import Path

    return Path(args.store) if getattr(args, "store", None) else Path(cfg.settings.store)

def now_arg(args: argparse.Namespace) -> Any:
    from datetime import datetime

    if getattr(args, "now", None):
        try:
            return datetime.fromisoformat(args.now)
        except ValueError:
            raise UsageError(f"--now takes a date and time such as 2025-10-23T07:00, not {args.now!r}") from None
    return datetime.now()
