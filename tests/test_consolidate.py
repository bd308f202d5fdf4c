from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from plan_reports.atomic import set_mtime
from plan_reports.config import Config
from plan_reports.consolidate import consolidate
from plan_reports.periods import Period
from plan_reports.store import MIGRATIONS, connect, content_digest, schema_version, store_lock
from plan_reports.trackers import FIRST_ROW, SHEET_INDICATORS, col_letter, indicator_columns
from plan_reports.workbook import read_indicator_sheet

P = Period.parse("2025/26-Q2")
TODAY = date(2025, 11, 10)


def run(cfg: Config, inbox: Path, tmp_path: Path) -> object:
    return consolidate(cfg, P, inbox, tmp_path / "store.sqlite", tmp_path / "out", today=TODAY)


def statuses(result: object) -> dict[str, str]:
    return {s.department: s.status for s in result.statuses}  # type: ignore[attr-defined]


def test_missing_and_late_departments(config: Config, inbox: Path, tmp_path: Path) -> None:
    (inbox / "Tracker_PH_2025-26-Q2.xlsx").unlink()
    late = inbox / "Tracker_CR_2025-26-Q2.xlsx"
    set_mtime(late, datetime.combine(config.submission_deadline(P) + timedelta(days=2), datetime.min.time(), UTC))
    st = statuses(run(config, inbox, tmp_path))
    assert st["PH"] == "Missing" and st["CR"] == "Accepted (late)"
    assert st["ET"] == "Accepted" and len(st) == 6


def _break(path: Path) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_INDICATORS]
    ws[f"{col_letter(indicator_columns(P), 'value')}{FIRST_ROW}"] = "lots"
    wb.save(path)


def test_invalid_submission_is_rejected_and_listed(config: Config, inbox: Path, tmp_path: Path) -> None:
    _break(inbox / "Tracker_ET_2025-26-Q2.xlsx")
    res = run(config, inbox, tmp_path)
    et = next(s for s in res.statuses if s.department == "ET")
    assert (et.status, et.accepted, et.n_errors >= 1) == ("Invalid: not accepted", False, True)
    con = connect(tmp_path / "store.sqlite")
    row = con.execute("SELECT accepted, issues_json FROM submissions WHERE department = 'ET'").fetchone()
    assert row["accepted"] == 0 and "C001" in {i["code"] for i in json.loads(row["issues_json"])}
    assert con.execute("SELECT COUNT(*) FROM indicator_values v JOIN submissions s ON s.id = v.submission_id "
                       "WHERE s.department = 'ET'").fetchone()[0] == 0
    issues = openpyxl.load_workbook(res.workbook)["Issues"]
    assert any(r[4] == "C001" for r in issues.iter_rows(min_row=4, values_only=True))


def test_resubmission_supersedes_and_history_is_kept(config: Config, inbox: Path, tmp_path: Path) -> None:
    run(config, inbox, tmp_path)
    et = inbox / "Tracker_ET_2025-26-Q2.xlsx"
    wb = openpyxl.load_workbook(et)
    ws = wb[SHEET_INDICATORS]
    row = next(r for r in range(FIRST_ROW, ws.max_row + 1) if ws.cell(r, 1).value == "CG2-03")  # trees, a count
    ws[f"{col_letter(indicator_columns(P), 'value')}{row}"] = 4321
    corrected = inbox / "corrected" / "Tracker_ET_2025-26-Q2.xlsx"
    corrected.parent.mkdir()
    wb.save(corrected)
    set_mtime(corrected, datetime.fromtimestamp(et.stat().st_mtime, UTC) + timedelta(hours=5))
    res = run(config, inbox, tmp_path)
    assert res.new_submissions == 1 and res.already_recorded == 6
    con = connect(tmp_path / "store.sqlite")
    rows = con.execute("SELECT id, accepted FROM submissions WHERE department = 'ET' ORDER BY id").fetchall()
    assert len(rows) == 2 and all(r["accepted"] for r in rows)
    current = con.execute("SELECT id FROM current_submissions WHERE department = 'ET'").fetchone()["id"]
    assert current == rows[1]["id"]
    vals = {r[0]: r[1] for r in con.execute("SELECT submission_id, value FROM indicator_values WHERE indicator_id = 'CG2-03'")}
    assert vals[rows[1]["id"]] == 4321 and vals[rows[0]["id"]] != 4321  # the earlier figure is kept
    assert next(x for x in res.scores.indicators if x.indicator_id == "CG2-03").value == 4321


def test_running_twice_is_idempotent(config: Config, inbox: Path, tmp_path: Path) -> None:
    first = run(config, inbox, tmp_path)
    con = connect(tmp_path / "store.sqlite")
    digest = content_digest(con)
    values = read_indicator_sheet(Path(first.workbook))
    second = run(config, inbox, tmp_path)
    assert second.new_submissions == 0 and content_digest(connect(tmp_path / "store.sqlite")) == digest
    assert read_indicator_sheet(Path(second.workbook)) == values


def test_schema_is_versioned(tmp_path: Path) -> None:
    con = connect(tmp_path / "s.sqlite")
    assert schema_version(con) == len(MIGRATIONS)
    con.execute("PRAGMA user_version = 99")
    con.close()
    with pytest.raises(RuntimeError, match="newer than this program"):
        connect(tmp_path / "s.sqlite")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "plan_reports", *args]


def test_killed_run_leaves_store_and_workbook_intact(config: Config, inbox: Path, tmp_path: Path) -> None:
    store, out = tmp_path / "store.sqlite", tmp_path / "out"
    first = inbox / "first"
    first.mkdir()
    for name in ("Tracker_ET_2025-26-Q2.xlsx", "Tracker_PH_2025-26-Q2.xlsx"):
        shutil.move(inbox / name, first / name)
    assert subprocess.run(_cli("consolidate", "--period", str(P), "--submissions", str(first), "--store", str(store),
                               "--out", str(out)), capture_output=True).returncode in (0, 1)
    before = connect(store).execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
    workbook = out / "Consolidated_2025-26-Q2.xlsx"
    rng = random.Random(5)
    for _ in range(4):
        proc = subprocess.Popen(_cli("consolidate", "--period", str(P), "--submissions", str(inbox), "--store", str(store),
                                     "--out", str(out)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        con = sqlite3.connect(store)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        n = con.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
        assert n in (before, before + 4)  # all of the run or none of it
        per = con.execute("SELECT COUNT(*) FROM submissions s WHERE accepted = 1 AND NOT EXISTS "
                          "(SELECT 1 FROM indicator_values v WHERE v.submission_id = s.id)").fetchone()[0]
        assert per == 0  # no submission without its values
        con.close()
        assert openpyxl.load_workbook(workbook)["Returns"]["A1"].value.startswith("Returns for")


def test_concurrent_runs_are_serialised(config: Config, inbox: Path, tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    args = _cli("consolidate", "--period", str(P), "--submissions", str(inbox), "--store", str(store), "--out", str(tmp_path))
    with store_lock(store):
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(4)
        assert proc.poll() is None, "the second run must wait for the lock"
    _, err = proc.communicate(timeout=120)
    assert "Another run is using the history store" in err and proc.returncode in (0, 1)
    a = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    b = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert a.wait(120) in (0, 1) and b.wait(120) in (0, 1)
    assert connect(store).execute("SELECT COUNT(*) FROM submissions").fetchone()[0] == 6


@pytest.mark.office
def test_workbook_opens_in_libreoffice_and_matches_the_store(config: Config, inbox: Path, tmp_path: Path) -> None:
    from plan_reports.office import convert

    res = run(config, inbox, tmp_path)
    pdf = convert(Path(res.workbook), tmp_path / "pdf", "pdf")
    assert pdf.stat().st_size > 1000
    con = connect(tmp_path / "store.sqlite")
    stored = {r["indicator_id"]: r["value"] for r in con.execute(
        "SELECT v.indicator_id, v.value FROM indicator_values v JOIN current_submissions s ON s.id = v.submission_id "
        "WHERE v.period = ?", (str(P),))}
    sheet = read_indicator_sheet(Path(res.workbook))
    assert len(sheet) == len(list(config.plans["2022-26"].indicators()))
    for row in sheet:
        v = row[f"Value {P}"]
        assert (v if v != "" else None) == pytest.approx(stored[row["ID"]]), row["ID"]
        assert row["RAG"] in {"Green", "Amber", "Red", "No data", "No target", "Data only"}


def test_user_text_is_never_a_formula(config: Config, inbox: Path, tmp_path: Path) -> None:
    path = inbox / "Tracker_ET_2025-26-Q2.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_INDICATORS]
    ws[f"{col_letter(indicator_columns(P), 'commentary')}{FIRST_ROW}"] = "=HYPERLINK(\"http://evil\",\"x\")"
    ws[f"{col_letter(indicator_columns(P), 'commentary')}{FIRST_ROW}"].data_type = "s"
    wb.save(path)
    res = run(config, inbox, tmp_path)
    out = openpyxl.load_workbook(res.workbook)["Indicators"]
    cells = [c for row in out.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("=")]
    assert cells and all(c.data_type == "s" for c in cells)


def test_sample_submissions_are_deterministic(config: Config, tmp_path: Path) -> None:
    from plan_reports.samples import write_samples
    from plan_reports.xlsx import open_package, read_values

    a = write_samples(config, P, tmp_path / "a", seed=3, departments=["CFS"])[0]
    b = write_samples(config, P, tmp_path / "b", seed=3, departments=["CFS"])[0]
    c = write_samples(config, P, tmp_path / "c", seed=4, departments=["CFS"])[0]
    va, vb, vc = (read_values(open_package(p), [SHEET_INDICATORS]) for p in (a, b, c))
    assert va == vb and va != vc
    assert a.read_bytes() == b.read_bytes()
    teams = write_samples(config, P, tmp_path / "t", seed=3, count=8)
    assert len({p.name for p in teams}) == 8 and os.path.getsize(teams[0]) > 0


def test_an_output_that_cannot_be_replaced_is_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from plan_reports import atomic

    target = tmp_path / "Consolidated.xlsx"
    target.write_bytes(b"old")

    def refuse(src: str, dst: str) -> None:
        raise PermissionError(13, "The process cannot access the file because it is being used by another process")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(atomic.OutputInUse, match="open in another program"), atomic.atomic_path(target) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"old" and not list(tmp_path.glob(".*.part"))
