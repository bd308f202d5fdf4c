"""Scheduled quarterly runs and submission chasing, driven by the reporting calendar.

`schedule` (the library) has no notion of quarters, so the service ticks (hourly by default) and `due_jobs` decides,
from the calendar and a clock, what is due. Every run is logged in the history store; an occurrence with a
successful run is never run again, which makes catch-up after downtime run each missed job exactly once.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import smtplib
import ssl
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plan_reports.atomic import atomic_path
from plan_reports.periods import Period

if TYPE_CHECKING:
    import sqlite3

    from filelock import FileLock

    from plan_reports.config import Config
    from plan_reports.validate import FileReport

JOBS = ("reminder", "consolidate", "decks")


@dataclass(frozen=True, order=True)
class Occurrence:
    due: datetime
    job: str  # reminder | consolidate | decks
    period: str
    note: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return self.job, self.period, self.due.isoformat()


def _at(cfg: Config, d: date) -> datetime:
    return datetime.combine(d, datetime.min.time()).replace(hour=cfg.settings.schedule.run_at_hour)


def occurrences(cfg: Config, start: date, end: date, all_in: Callable[[str], bool] = lambda _p: False) -> list[Occurrence]:
    """Every job occurrence with a due time in [start, end], from the calendar. Pure.

    `all_in(period)` says whether every department's return is accepted; daily re-consolidation stops then.
    """
    s = cfg.settings.schedule
    out: list[Occurrence] = []
    q = Period.containing(start - timedelta(days=200))
    while q.start <= end + timedelta(days=120):
        deadline, board = cfg.submission_deadline(q), cfg.board_meeting(q)
        out.append(Occurrence(_at(cfg, deadline - timedelta(days=s.reminder_days_before_deadline)), "reminder", str(q),
                              f"{s.reminder_days_before_deadline} days before the deadline"))
        out.append(Occurrence(_at(cfg, deadline + timedelta(days=s.reminder_days_after_deadline)), "reminder", str(q),
                              "after the deadline"))
        first = deadline + timedelta(days=s.consolidate_days_after_deadline)
        d = first
        while d <= board:
            out.append(Occurrence(_at(cfg, d), "consolidate", str(q), "first run" if d == first else "daily until all in"))
            if d > first and all_in(str(q)):
                break
            d += timedelta(days=1)
        if q.n in (2, 4):
            h = q.half()
            out.append(Occurrence(_at(cfg, cfg.board_meeting(h) - timedelta(days=s.decks_days_before_board)), "decks",
                                  str(h), "before the Outcome Boards"))
        q = q.next()
    return sorted(o for o in out if start <= o.due.date() <= end)


def window_end(cfg: Config, occ: Occurrence) -> datetime:
    """A missed occurrence is still worth running until its period's board meets; after that it is moot."""
    p = Period.parse(occ.period)
    return _at(cfg, cfg.board_meeting(p)) + timedelta(hours=23 - cfg.settings.schedule.run_at_hour)


def settled(con: sqlite3.Connection, occ: Occurrence) -> bool:
    """Run successfully, or skipped because a later occurrence of the same job covered it."""
    return con.execute("SELECT 1 FROM runs WHERE job = ? AND period = ? AND due = ? AND outcome IN ('ok', 'skipped')",
                       occ.key).fetchone() is not None


def all_returns_in(con: sqlite3.Connection, cfg: Config, period: str) -> bool:
    got = {r[0] for r in con.execute("SELECT DISTINCT department FROM current_submissions WHERE period = ?", (period,))}
    return {d.id for d in cfg.organisation.departments} <= got


def due_jobs(con: sqlite3.Connection, cfg: Config, now: datetime, lookback_days: int = 200) -> tuple[list[Occurrence], list[Occurrence]]:
    """(to run, superseded). Pending occurrences are due, unsettled and inside their window. Of several pending for
    one job and period (missed while the machine was off) only the latest runs: catch-up runs each job once."""
    occs = occurrences(cfg, (now - timedelta(days=lookback_days)).date(), now.date(), lambda p: all_returns_in(con, cfg, p))
    pending = [o for o in occs if o.due <= now <= window_end(cfg, o) and not settled(con, o)]
    latest: dict[tuple[str, str], Occurrence] = {}
    for o in pending:
        if (o.job, o.period) not in latest or o.due > latest[(o.job, o.period)].due:
            latest[(o.job, o.period)] = o
    run = sorted(latest.values())
    return run, [o for o in pending if o not in run]


@dataclass
class RunResult:
    outputs: list[str] = field(default_factory=list)


Runner = Callable[["Config", Occurrence, datetime], RunResult]


def log_run(con: sqlite3.Connection, occ: Occurrence, started: datetime, ended: datetime, outcome: str,
            outputs: list[str], error: str | None) -> None:
    con.execute("INSERT INTO runs (job, period, due, started_at, ended_at, outcome, outputs_json, error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (occ.job, occ.period, occ.due.isoformat(), started.isoformat(),
                                                    ended.isoformat(), outcome, json.dumps(outputs), error))


def run_one(cfg: Config, con: sqlite3.Connection, occ: Occurrence, now: datetime, runner: Runner, *,
            clock: Callable[[], datetime] | None = None,
            notify_failure: Callable[[Occurrence, str], None] | None = None) -> str:
    """Run one occurrence and log it; a failure is logged (and emailed), never raised. Returns ok or failed.

    Anything a job raises counts, `BaseException` included (a reader's Rust panic, a `SystemExit` deep in a
    library): the service must still be there for the next job. Only Ctrl-C in a terminal stops it, once logged.
    """
    clock = clock or (lambda: now)
    started = clock()
    try:
        result = runner(cfg, occ, now)
    except BaseException as e:
        detail = f"{type(e).__name__}: {e}"
        log_run(con, occ, started, clock(), "failed", [], detail + "\n" + traceback.format_exc(limit=5))
        if isinstance(e, KeyboardInterrupt):
            raise
        if notify_failure:
            with contextlib.suppress(Exception):  # the run log already holds the failure
                notify_failure(occ, detail)
        return "failed"
    log_run(con, occ, started, clock(), "ok", result.outputs, None)
    return "ok"


def tick(cfg: Config, con: sqlite3.Connection, now: datetime, runners: dict[str, Runner], *,
         clock: Callable[[], datetime] | None = None, stop: Callable[[], bool] = lambda: False,
         notify_failure: Callable[[Occurrence, str], None] | None = None) -> list[tuple[Occurrence, str]]:
    """Run everything due now, each once; a failure is logged and retried next tick, and the others still run."""
    done: list[tuple[Occurrence, str]] = []
    due, superseded = due_jobs(con, cfg, now)
    for occ in superseded:
        log_run(con, occ, now, now, "skipped", [], "missed; covered by a later run of the same job")
    for occ in due:
        if stop():
            break
        done.append((occ, run_one(cfg, con, occ, now, runners[occ.job], clock=clock, notify_failure=notify_failure)))
    return done


def run_once(cfg: Config, now: datetime, *, job: str | None = None, period: str | None = None,
             dry_run: bool = False) -> list[tuple[Occurrence, str]]:
    """What `schedule once` does (for cron, Task Scheduler or a systemd timer): every job due now, or one job for
    one period by hand; each logged in the run log, a failure never stopping the others."""
    from plan_reports.store import connect

    if job is not None and job not in RUNNERS:
        raise ValueError(f"the job is one of {', '.join(RUNNERS)}")
    con = connect(Path(cfg.settings.store))
    try:
        if period is not None:
            jobs = [Occurrence(now, job or "consolidate", period, "run by hand")]
            if dry_run:
                return [(j, "would run") for j in jobs]
            return [(j, run_one(cfg, con, j, now, RUNNERS[j.job], notify_failure=failure_emailer(cfg))) for j in jobs]
        if dry_run:
            due, _ = due_jobs(con, cfg, now)
            return [(o, "would run") for o in due if job is None or o.job == job]
        runners = {k: v for k, v in RUNNERS.items() if job is None or k == job}
        return tick(cfg, con, now, runners, notify_failure=failure_emailer(cfg))
    finally:
        con.close()


# ---- the real jobs -----------------------------------------------------------------------------------------------

def inbox_for(cfg: Config, period: str) -> Path:
    return Path(cfg.settings.inbox) / period.replace("/", "-")


@dataclass(frozen=True)
class ChaseItem:
    department: str
    name: str
    contact: str
    email: str
    missing: str
    problems: tuple[str, ...] = ()  # each error of a return waiting in the inbox: where (sheet!cell) and what to fix


def chase_list(con: sqlite3.Connection, cfg: Config, period: str,
               inbox: Sequence[FileReport] = ()) -> list[ChaseItem]:
    """Who has no accepted return, and what is wrong with what they sent.

    `inbox` holds the reports of the returns already in the period's inbox but not yet consolidated (validated,
    not recorded): a department with a valid one there is not chased; one whose return has errors is told each
    error and where to fix it.
    """
    accepted = {r[0] for r in con.execute("SELECT DISTINCT department FROM current_submissions WHERE period = ?", (period,))}
    waiting: dict[str, list[FileReport]] = {}
    for rep in inbox:
        if rep.department:
            waiting.setdefault(rep.department, []).append(rep)
    items = []
    for d in cfg.organisation.departments:
        mine = waiting.get(d.id, [])
        if d.id in accepted or any(r.valid for r in mine):
            continue
        if mine:
            rep = mine[-1]
            errors = [i for i in rep.issues if i.severity.value == "error"]
            problems = tuple(f"{i.sheet or 'the file'}{'!' + i.cell if i.cell else ''} [{i.code}]: {i.message}"
                             for i in errors)
            missing = (f"the return {rep.path.name} is in the inbox but has {len(errors)} error(s) to fix before it "
                       "can be accepted")
        else:
            problems = ()
            rejected = con.execute("SELECT file_name, n_errors FROM submissions WHERE period = ? AND department = ? "
                                   "ORDER BY id DESC LIMIT 1", (period, d.id)).fetchone()
            missing = (f"the return {rejected[0]} was received but has {rejected[1]} error(s) to fix" if rejected
                       else "no return has been received")
        items.append(ChaseItem(d.id, d.name, d.contact.name, d.contact.email, missing, problems))
    return items


def inbox_reports(cfg: Config, period: str, today: date) -> list[FileReport]:
    """The period's inbox, validated (in isolated workers) but not recorded: what the reminder knows is there."""
    from plan_reports.validate import validate_paths

    folder = inbox_for(cfg, period)
    if not folder.is_dir():
        return []
    return validate_paths([folder], cfg, expected_period=Period.parse(period), today=today)


def send_email(cfg: Config, to: list[str], subject: str, body: str) -> None:
    """Send through the configured SMTP server; credentials come from the environment, never from the repo."""
    e = cfg.settings.email
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = e.sender, ", ".join(to), subject
    msg.set_content(body)
    user, password = os.environ.get(e.username_env), os.environ.get(e.password_env)
    if e.security == "ssl":
        server: smtplib.SMTP = smtplib.SMTP_SSL(e.host, e.port, context=ssl.create_default_context(), timeout=30)
    else:
        server = smtplib.SMTP(e.host, e.port, timeout=30)
    with server:
        if e.security == "starttls":
            server.starttls(context=ssl.create_default_context())
        if user and password:
            server.login(user, password)
        server.send_message(msg)


def _problem_list(problems: Sequence[str], most: int = 20) -> str:
    if not problems:
        return ""
    lines = [f"  - {p}" for p in problems[:most]]
    if len(problems) > most:
        lines.append(f"  ... and {len(problems) - most} more (run validate with --annotate for a marked-up copy)")
    return "\nWhat to fix, and where (sheet!cell):\n" + "\n".join(lines) + "\n"


def run_reminder(cfg: Config, occ: Occurrence, now: datetime) -> RunResult:
    from plan_reports.store import connect

    waiting = inbox_reports(cfg, occ.period, now.date())
    con = connect(Path(cfg.settings.store))
    try:
        items = chase_list(con, cfg, occ.period, waiting)
    finally:
        con.close()
    p = Period.parse(occ.period)
    deadline = cfg.submission_deadline(p)
    target = Path(cfg.settings.outputs) / "chase" / f"chase_{occ.period.replace('/', '-')}_{now:%Y-%m-%d}.csv"
    import csv

    with atomic_path(target) as tmp, open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["department", "name", "contact", "email", "missing", "deadline"])
        w.writerows([i.department, i.name, i.contact, i.email, i.missing, deadline.isoformat()] for i in items)
    if cfg.settings.email.host:
        when = "is due on" if now.date() <= deadline else "was due on"
        for i in items:
            send_email(cfg, [i.email], f"Strategic Plan return for {p.label}: {i.name}",
                       f"Dear {i.contact},\n\nThe {i.name} Strategic Plan return for {p.label} {when} "
                       f"{deadline:%A %d %B %Y}. At present {i.missing}.\n{_problem_list(i.problems)}\n"
                       "Please send the completed tracker to "
                       f"{cfg.organisation.performance_team.email}.\n\n{cfg.organisation.performance_team.name}\n")
    return RunResult([str(target)])


def run_consolidate(cfg: Config, occ: Occurrence, now: datetime) -> RunResult:
    from plan_reports.consolidate import consolidate

    folder = inbox_for(cfg, occ.period)
    folder.mkdir(parents=True, exist_ok=True)
    res = consolidate(cfg, Period.parse(occ.period), folder, Path(cfg.settings.store), Path(cfg.settings.outputs),
                      today=now.date(), use_cache=True)
    return RunResult([res.workbook] if res.workbook else [])


def run_decks(cfg: Config, occ: Occurrence, now: datetime) -> RunResult:
    from plan_reports.decks import write_decks

    return RunResult([str(p) for p in write_decks(cfg, Period.parse(occ.period), Path(cfg.settings.store),
                                                  Path(cfg.settings.outputs) / "decks")])


RUNNERS: dict[str, Runner] = {"reminder": run_reminder, "consolidate": run_consolidate, "decks": run_decks}


def failure_emailer(cfg: Config) -> Callable[[Occurrence, str], None] | None:
    if not cfg.settings.email.host:
        return None
    team = cfg.organisation.performance_team

    def notify(occ: Occurrence, detail: str) -> None:
        send_email(cfg, [team.email], f"plan-reports: scheduled {occ.job} for {occ.period} failed",
                   f"The scheduled {occ.job} job for {occ.period} (due {occ.due:%d %B %Y %H:%M}) failed:\n\n{detail}\n\n"
                   "It will be retried at the next tick. The run log: plan-reports schedule status.")
    return notify


# ---- the service -------------------------------------------------------------------------------------------------

class AlreadyRunning(RuntimeError):
    pass


def service_lock(store: Path) -> FileLock:
    """One scheduler per store. Returns the held descriptor; `release` it to let another start."""
    from plan_reports.locks import Locked, try_lock

    try:
        return try_lock(Path(str(store) + ".scheduler.lock"), f"pid {os.getpid()}")
    except Locked as e:
        raise AlreadyRunning(f"A scheduler is already running for {store} ({e.holder}).") from None


def serve(cfg: Config, *, tick_seconds: float = 3600, clock: Callable[[], datetime] = datetime.now,
          runners: dict[str, Runner] | None = None, say: Callable[[str], None] = print) -> int:
    """Run until SIGTERM or Ctrl-C; both end the service after the current job. Catches up on start."""
    import schedule as schedule_lib

    from plan_reports.store import connect

    store = Path(cfg.settings.store)
    fd = service_lock(store)
    stopping = {"flag": False}

    def stop(signum: int, _frame: Any) -> None:
        stopping["flag"] = True
        say(f"received {signal.Signals(signum).name}: stopping after the current job")

    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    con = connect(store)
    runners = runners or RUNNERS

    def one_tick() -> None:
        for occ, outcome in tick(cfg, con, clock(), runners, clock=clock, stop=lambda: stopping["flag"],
                                 notify_failure=failure_emailer(cfg)):
            say(f"{clock():%Y-%m-%d %H:%M} {occ.job} {occ.period} (due {occ.due:%Y-%m-%d %H:%M}): {outcome}")

    try:
        say(f"scheduler started for {store}; checking every {tick_seconds:g}s")
        warning = cfg.outside_every_plan(Period.containing(clock().date()))
        if warning:
            say(f"warning: {warning}")
        one_tick()  # catch up at once
        job = schedule_lib.every(tick_seconds).seconds.do(one_tick)
        while not stopping["flag"]:
            schedule_lib.run_pending()
            time.sleep(min(1.0, tick_seconds))
        schedule_lib.cancel_job(job)
        say("scheduler stopped")
        return 0
    finally:
        con.close()
        for s, h in old.items():
            signal.signal(s, h)
        from plan_reports.locks import release

        release(fd)


def status(con: sqlite3.Connection, limit: int = 20) -> list[dict[str, Any]]:
    rows = con.execute("SELECT job, period, due, started_at, ended_at, outcome, outputs_json, error FROM runs "
                       "ORDER BY id DESC LIMIT ?", (limit,))
    return [dict(r) | {"outputs": json.loads(r["outputs_json"]), "error": (r["error"] or "").split("\n")[0] or None}
            for r in rows]
