from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from plan_reports.config import Config, load_config
from plan_reports.periods import Period
from plan_reports.scheduler import RunResult, chase_list, inbox_for, occurrences, run_reminder, tick
from plan_reports.store import connect


def _cfg(config: Config, tmp_path: Path, **email: object) -> Config:
    settings = dataclasses.replace(
        config.settings, store=str(tmp_path / "store.sqlite"), outputs=str(tmp_path / "out"), inbox=str(tmp_path / "inbox"),
        email=dataclasses.replace(config.settings.email, **email))
    return dataclasses.replace(config, settings=settings)


class PanicException(BaseException):
    """What pyo3 raises for a Rust panic inside a reader: a BaseException, not an Exception."""


class Recorder:
    def __init__(self, fail: set[str] = frozenset(), panic: set[str] = frozenset()) -> None:
        self.calls: list[tuple[str, str, date]] = []
        self.fail, self.panic = fail, panic

    def runner(self, job: str):
        def run(cfg: Config, occ, now: datetime) -> RunResult:
            self.calls.append((job, occ.period, now.date()))
            if job in self.fail:
                raise RuntimeError(f"{job} exploded")
            if job in self.panic:
                raise PanicException(f"{job}: called `Option::unwrap()` on a `None` value")
            return RunResult([f"{job}-{occ.period}"])
        return run

    def runners(self) -> dict:
        return {j: self.runner(j) for j in ("reminder", "consolidate", "decks")}


def drive(cfg: Config, rec: Recorder, start: date, end: date, hour: int = 8) -> None:
    con = connect(Path(cfg.settings.store))
    d = start
    while d <= end:
        tick(cfg, con, datetime.combine(d, datetime.min.time()).replace(hour=hour), rec.runners())
        d += timedelta(days=1)
    con.close()


def test_a_whole_reporting_year(config: Config, tmp_path: Path) -> None:
    cfg = _cfg(config, tmp_path)
    rec = Recorder()
    drive(cfg, rec, date(2025, 4, 1), date(2026, 6, 30))
    for q in ("2025/26-Q1", "2025/26-Q2", "2025/26-Q3", "2025/26-Q4"):
        p = Period.parse(q)
        deadline, board = cfg.submission_deadline(p), cfg.board_meeting(p)
        assert [c[2] for c in rec.calls if c[:2] == ("reminder", q)] == [deadline - timedelta(days=5),
                                                                         deadline + timedelta(days=2)]
        cons = [c[2] for c in rec.calls if c[:2] == ("consolidate", q)]
        first = deadline + timedelta(days=2)
        assert cons == [first + timedelta(days=k) for k in range((board - first).days + 1)]  # daily: nobody sent a return
    assert [(c[1], c[2]) for c in rec.calls if c[0] == "decks"] == [
        ("2024/25-H2", cfg.board_meeting(Period.parse("2024/25-H2")) - timedelta(days=7)),  # May 2025, in the window
        ("2025/26-H1", cfg.board_meeting(Period.parse("2025/26-H1")) - timedelta(days=7)),
        ("2025/26-H2", cfg.board_meeting(Period.parse("2025/26-H2")) - timedelta(days=7))]
    assert cfg.submission_deadline(Period.parse("2025/26-Q3")) == date(2026, 1, 23)  # the calendar's override is used
    con = connect(Path(cfg.settings.store))
    assert con.execute("SELECT COUNT(*) FROM runs WHERE outcome = 'ok'").fetchone()[0] == len(rec.calls)


def _all_in(cfg: Config, period: str) -> None:
    con = connect(Path(cfg.settings.store))
    for i, d in enumerate(cfg.organisation.departments):
        con.execute("INSERT INTO submissions (sha256, file_name, path, department, team, period, file_mtime, recorded_at, "
                    "accepted, n_errors, n_warnings, issues_json) VALUES (?, ?, ?, ?, '', ?, ?, ?, 1, 0, 0, '[]')",
                    (f"h{period}{i}", "f.xlsx", "f.xlsx", d.id, period, "2025-10-01T00:00:00", "2025-10-01T00:00:00"))
    con.close()


def test_daily_consolidation_stops_when_all_returns_are_in(config: Config, tmp_path: Path) -> None:
    cfg = _cfg(config, tmp_path)
    rec = Recorder()
    deadline = cfg.submission_deadline(Period.parse("2025/26-Q2"))
    drive(cfg, rec, date(2025, 10, 1), deadline + timedelta(days=3))
    _all_in(cfg, "2025/26-Q2")  # as the run on deadline + 3 would have recorded the last returns
    drive(cfg, rec, deadline + timedelta(days=4), date(2025, 12, 31))
    cons = [c[2] for c in rec.calls if c[:2] == ("consolidate", "2025/26-Q2")]
    assert cons == [deadline + timedelta(days=2), deadline + timedelta(days=3)]  # no more daily runs once all are in


def test_missed_jobs_catch_up_exactly_once(config: Config, tmp_path: Path) -> None:
    cfg = _cfg(config, tmp_path)
    rec = Recorder()
    drive(cfg, rec, date(2025, 10, 1), date(2025, 10, 10))  # the 5-days-before reminder runs on 16 October... not yet
    drive(cfg, rec, date(2025, 11, 1), date(2025, 11, 1))  # the machine was off from 11 to 31 October
    q2 = [c for c in rec.calls if c[1] == "2025/26-Q2"]
    assert q2 == [("reminder", "2025/26-Q2", date(2025, 11, 1)), ("consolidate", "2025/26-Q2", date(2025, 11, 1))]
    before = len(rec.calls)
    con = connect(Path(cfg.settings.store))
    tick(cfg, con, datetime(2025, 11, 1, 20, 0), rec.runners())
    assert len(rec.calls) == before  # same day, later: nothing new
    skipped = con.execute("SELECT COUNT(*) FROM runs WHERE outcome = 'skipped'").fetchone()[0]
    assert skipped >= 9  # the missed reminder and daily consolidations are recorded as covered, not replayed


def test_a_failing_job_does_not_stop_the_others(config: Config, tmp_path: Path) -> None:
    cfg = _cfg(config, tmp_path)
    rec = Recorder(fail={"consolidate"})
    drive(cfg, rec, date(2025, 10, 23), date(2025, 10, 24))
    assert ("reminder", "2025/26-Q2", date(2025, 10, 23)) in rec.calls
    con = connect(Path(cfg.settings.store))
    failed = con.execute("SELECT period, error FROM runs WHERE job = 'consolidate' AND outcome = 'failed'").fetchall()
    assert len(failed) == 2 and "consolidate exploded" in failed[0]["error"]  # retried at the next tick
    assert con.execute("SELECT COUNT(*) FROM runs WHERE job = 'reminder' AND outcome = 'ok'").fetchone()[0] == 1


def test_a_job_that_panics_is_logged_and_the_service_carries_on(config: Config, tmp_path: Path) -> None:
    cfg = _cfg(config, tmp_path)
    rec = Recorder(panic={"consolidate"})
    drive(cfg, rec, date(2025, 10, 23), date(2025, 10, 24))  # would have stopped at the first panic before
    con = connect(Path(cfg.settings.store))
    failed = con.execute("SELECT error FROM runs WHERE job = 'consolidate' AND outcome = 'failed'").fetchall()
    assert len(failed) == 2 and failed[0]["error"].startswith("PanicException: consolidate: called")
    assert con.execute("SELECT COUNT(*) FROM runs WHERE job = 'reminder' AND outcome = 'ok'").fetchone()[0] == 1


class Box:
    """A real SMTP server's mailbox (aiosmtpd on localhost)."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"

    def wait_for(self, n: int) -> None:
        for _ in range(50):
            if len(self.messages) >= n:
                return
            time.sleep(0.1)


@contextlib.contextmanager
def smtp_box() -> Iterator[tuple[Box, int]]:
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = Box()
    ctl = Controller(box, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield box, port
    finally:
        ctl.stop()


def test_reminder_emails_through_a_real_smtp_server(config: Config, samples: dict[str, Path], tmp_path: Path) -> None:
    with smtp_box() as (box, port):
        cfg = _cfg(config, tmp_path, host="127.0.0.1", port=port, security="none")
        from plan_reports.consolidate import consolidate

        inbox = tmp_path / "inbox" / "2025-26-Q2"
        inbox.mkdir(parents=True)
        shutil.copy2(samples["AC"], inbox)
        import openpyxl

        bad = inbox / samples["ET"].name
        wb = openpyxl.load_workbook(samples["ET"])
        wb["Indicators"]["G5"] = "lots"  # G: this period's value
        wb.save(bad)
        consolidate(cfg, Period.parse("2025/26-Q2"), inbox, Path(cfg.settings.store), None, today=date(2025, 10, 23))
        con = connect(Path(cfg.settings.store))
        chase = {c.department: c.missing for c in chase_list(con, cfg, "2025/26-Q2")}
        assert "AC" not in chase and "error(s) to fix" in chase["ET"] and chase["PH"] == "no return has been received"
        occ = occurrences(cfg, date(2025, 10, 23), date(2025, 10, 23))[-1]
        result = run_reminder(cfg, occ, datetime(2025, 10, 23, 7))
        deadline = cfg.submission_deadline(Period.parse("2025/26-Q2"))
        box.wait_for(5)
    contacts = {d.id: d.contact.email for d in cfg.organisation.departments}
    assert sorted(r for m in box.messages for r in m.rcpt_tos) == sorted(v for k, v in contacts.items() if k != "AC")
    by = {m.rcpt_tos[0]: m.content.decode() for m in box.messages}
    assert "error(s) to fix" in by[contacts["ET"]] and "no return has been received" in by[contacts["PH"]]
    assert f"{deadline:%d %B %Y}" in by[contacts["PH"]]
    assert Path(result.outputs[0]).read_text().count("\n") == 6  # header and five departments to chase


def test_the_reminder_reads_the_inbox_before_chasing(config: Config, samples: dict[str, Path], tmp_path: Path) -> None:
    """Five days before the deadline nothing is consolidated yet: a valid return waiting in the inbox is not chased,
    and one with errors gets the list of what to fix and where, while there is still time."""
    import openpyxl

    from plan_reports.validate import validate_file

    with smtp_box() as (box, port):
        cfg = _cfg(config, tmp_path, host="127.0.0.1", port=port, security="none")
        inbox = inbox_for(cfg, "2025/26-Q2")
        inbox.mkdir(parents=True)
        shutil.copy2(samples["AC"], inbox)
        bad = inbox / samples["ET"].name
        wb = openpyxl.load_workbook(samples["ET"])
        wb["Indicators"]["G5"] = "lots"  # G: this period's value
        wb["Indicators"]["G6"] = "n/a"
        wb.save(bad)
        before = {p.name: p.read_bytes() for p in inbox.iterdir()}
        occ = next(o for o in occurrences(cfg, date(2025, 10, 1), date(2025, 10, 31)) if o.job == "reminder")
        assert occ.due.date() < cfg.submission_deadline(Period.parse("2025/26-Q2"))  # before the deadline
        run_reminder(cfg, occ, occ.due)
        box.wait_for(5)
    contacts = {d.id: d.contact.email for d in cfg.organisation.departments}
    assert sorted(r for m in box.messages for r in m.rcpt_tos) == sorted(v for k, v in contacts.items() if k != "AC")
    et = next(m.content.decode() for m in box.messages if m.rcpt_tos == [contacts["ET"]])
    expected = [i for i in validate_file(bad, config, expected_period=Period.parse("2025/26-Q2"), today=occ.due.date()).issues
                if i.severity.value == "error"]
    assert len(expected) >= 2 and f"has {len(expected)} error(s) to fix" in et
    for i in expected:
        assert f"{i.sheet}!{i.cell} [{i.code}]" in et
    assert {p.name: p.read_bytes() for p in inbox.iterdir()} == before  # validated, never changed
    con = connect(Path(cfg.settings.store))
    assert con.execute("SELECT COUNT(*) FROM submissions").fetchone()[0] == 0  # and not recorded


def _free_config(config_copy: Path, tmp_path: Path) -> Path:
    f = config_copy / "settings.yaml"
    text = f.read_text()
    for key, value in (("store", tmp_path / "store.sqlite"), ("outputs", tmp_path / "out"), ("inbox", tmp_path / "inbox")):
        text = text.replace(f"\n{key}: ", f"\n{key}: {value}  # was: ", 1)
    f.write_text(text)
    assert load_config(config_copy).settings.store == str(tmp_path / "store.sqlite")
    return config_copy


def test_the_service_runs_a_due_job_and_stops_cleanly_on_sigterm(config_copy: Path, tmp_path: Path) -> None:
    cfg_dir = _free_config(config_copy, tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "plan_reports", "--config", str(cfg_dir), "schedule", "run",
                             "--tick-seconds", "1", "--now", "2025-10-23T08:00"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "consolidate 2025/26-Q2" in line:
            break
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopping after the current job" in out and "scheduler stopped" in out
    con = connect(tmp_path / "store.sqlite")
    runs = {(r["job"], r["outcome"]) for r in con.execute("SELECT job, outcome FROM runs WHERE period = '2025/26-Q2'")}
    assert ("consolidate", "ok") in runs and ("reminder", "ok") in runs
    second = subprocess.run([sys.executable, "-m", "plan_reports", "--config", str(cfg_dir), "schedule", "status", "--json"],
                            capture_output=True, text=True)
    assert {r["job"] for r in json.loads(second.stdout)["runs"]} >= {"consolidate", "reminder"}


def test_one_instance_at_a_time(config_copy: Path, tmp_path: Path) -> None:
    cfg_dir = _free_config(config_copy, tmp_path)
    args = [sys.executable, "-m", "plan_reports", "--config", str(cfg_dir), "schedule", "run", "--tick-seconds", "1",
            "--now", "2025-07-01T08:00"]
    first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert "scheduler started" in first.stdout.readline()
    second = subprocess.run(args, capture_output=True, text=True, timeout=60)
    first.send_signal(signal.SIGINT)
    first.communicate(timeout=60)
    assert second.returncode == 1 and "already running" in second.stderr
    assert first.returncode == 0


@pytest.mark.parametrize("now", ["2025-10-23T08:00"])
def test_once_dry_run_lists_without_running(config_copy: Path, tmp_path: Path, now: str) -> None:
    cfg_dir = _free_config(config_copy, tmp_path)
    proc = subprocess.run([sys.executable, "-m", "plan_reports", "--config", str(cfg_dir), "schedule", "once", "--dry-run",
                           "--now", now, "--json"], capture_output=True, text=True)
    runs = json.loads(proc.stdout)["runs"]
    assert proc.returncode == 0 and {(r["job"], r["outcome"]) for r in runs} == {("reminder", "would run"),
                                                                                ("consolidate", "would run")}
    assert connect(tmp_path / "store.sqlite").execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
