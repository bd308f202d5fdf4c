"""Published snapshots, locked periods, restatements, lineage and the audit log (issue #19).

Expectations are read from the store with sqlite3 and from the submitted workbooks with openpyxl, never copied from
the output under test.
"""

from __future__ import annotations

import getpass
import json
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from pptx import Presentation

from plan_reports.config import Config
from plan_reports.consolidate import consolidate
from plan_reports.decks import write_decks
from plan_reports.periods import Period
from plan_reports.publish import scores_from_dict
from plan_reports.score import load_inputs, score_period, scores_dict
from plan_reports.store import MIGRATIONS, connect, content_digest, schema_version
from plan_reports.trackers import FIRST_ROW, SHEET_INDICATORS, col_letter, indicator_columns
from plan_reports.workbook import read_indicator_sheet

P = Period.parse("2025/26-Q2")
TODAY = date(2025, 11, 10)
IND = "CG2-03"  # an ET count: trees planted
CORRECTED = 4321.0


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "plan_reports", *args], capture_output=True, text=True)


def cli_json(*args: str) -> dict:
    proc = cli(*args, "--json")
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def value_cell(ws: Any) -> str:
    """Where IND's value sits on the ET tracker, found by its ID (rows follow the plan, which may change)."""
    row = next(r for r in range(FIRST_ROW, ws.max_row + 1) if ws.cell(r, 1).value == IND)
    return f"{col_letter(indicator_columns(P), 'value')}{row}"


def correct(inbox: Path, value: float = CORRECTED) -> Path:
    """A corrected ET return for the same period, sent later."""
    et = inbox / "Tracker_ET_2025-26-Q2.xlsx"
    wb = openpyxl.load_workbook(et)
    wb[SHEET_INDICATORS][value_cell(wb[SHEET_INDICATORS])] = value
    target = inbox / "corrected" / et.name
    target.parent.mkdir(exist_ok=True)
    wb.save(target)
    stamp = (datetime.fromtimestamp(et.stat().st_mtime, UTC) + timedelta(hours=5)).timestamp()
    import os

    os.utime(target, (stamp, stamp))
    return target


def stored_value(store: Path, indicator: str, current_only: bool = True) -> list[sqlite3.Row]:
    con = sqlite3.connect(store)
    con.row_factory = sqlite3.Row
    view = "current_submissions" if current_only else "submissions"
    return con.execute(f"SELECT v.*, s.file_name, s.path, s.sha256 FROM indicator_values v JOIN {view} s "
                       "ON s.id = v.submission_id WHERE v.indicator_id = ? AND v.period = ? ORDER BY s.id",
                       (indicator, str(P))).fetchall()


def published_rows(store: Path) -> list[tuple]:
    con = sqlite3.connect(store)
    return con.execute("SELECT * FROM published_values ORDER BY publication_id, kind, item_id").fetchall()


def test_published_period_keeps_its_figures_and_lists_restatements(config: Config, inbox: Path, tmp_path: Path) -> None:
    store, s = tmp_path / "s.sqlite", ["--store", str(tmp_path / "s.sqlite")]
    consolidate(config, P, inbox, store, None, today=TODAY)
    original = stored_value(store, IND)[0]["value"]
    assert original != CORRECTED
    pub = cli_json("publish", "--period", str(P), "--note", "Outcome Board", *s)
    assert pub["status"] == "published" and pub["version"] == 1
    frozen = published_rows(store)

    res = consolidate(config, P, inbox, store, tmp_path / "out", today=TODAY)  # nothing new: nothing restated
    assert res.new_submissions == 0 and res.restatements_recorded == 0 and res.locked
    correct(inbox)
    res = consolidate(config, P, inbox, store, tmp_path / "out", today=TODAY)
    assert res.new_submissions == 1 and res.locked and res.published_version == 1
    assert res.restatements_recorded == 1 and res.restatements_total == 1
    assert [r["value"] for r in stored_value(store, IND)] == [CORRECTED]  # the corrected return is recorded
    assert published_rows(store) == frozen  # ... and the published figures did not change

    published = cli_json("score", "--period", str(P), *s)
    live = cli_json("score", "--period", str(P), "--live", *s)
    assert not published["live"] and published["publication"]["version"] == 1 and published["publication"]["published_at"]
    assert live["live"]
    pv = {x["indicator_id"]: x["value"] for x in published["indicators"]}
    lv = {x["indicator_id"]: x["value"] for x in live["indicators"]}
    assert pv[IND] == original and lv[IND] == CORRECTED
    assert {k for k in pv if pv[k] != lv[k]} == {IND}  # only the corrected figure differs

    rest = cli_json("restatements", *s)["restatements"]
    assert [(r["kind"], r["id"], r["period"]) for r in rest] == [("indicator", IND, str(P))]
    r = rest[0]
    assert r["published_value"] == original and r["current_value"] == CORRECTED and "value" in r["changed"]
    et = openpyxl.load_workbook(inbox / "Tracker_ET_2025-26-Q2.xlsx")[SHEET_INDICATORS]
    assert r["file_name"] == "Tracker_ET_2025-26-Q2.xlsx" and r["cell"] == value_cell(et)
    newest = stored_value(store, IND)[0]
    assert r["sha256"] == newest["sha256"] and r["recorded_at"]

    # locked: publishing the change needs an unlock; unlocking and publishing make version 2, version 1 stays
    refused = cli("publish", "--period", str(P), *s)
    assert refused.returncode == 1 and "unlock" in refused.stdout
    assert cli("unlock", "--period", str(P), "--reason", "ET corrected CG2-03", *s).returncode == 0
    v2 = cli_json("publish", "--period", str(P), *s)
    assert v2["status"] == "published" and v2["version"] == 2
    con = sqlite3.connect(store)
    assert [v for (v,) in con.execute("SELECT version FROM publications ORDER BY version")] == [1, 2]
    assert next(x for x in cli_json("score", "--period", str(P), *s)["indicators"] if x["indicator_id"] == IND)["value"] == CORRECTED
    assert cli_json("restatements", *s)["restatements"] == []

    digest = content_digest(connect(store))  # unchanged: publishing again says so and changes nothing
    again = cli_json("publish", "--period", str(P), *s)
    assert again["status"] == "unchanged" and again["version"] == 2
    assert content_digest(connect(store)) == digest


def test_every_value_is_traced_to_a_file_and_cell(config: Config, inbox: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    res = consolidate(config, P, inbox, store, tmp_path / "out", today=TODAY)
    data = cli_json("score", "--period", str(P), "--store", str(store))
    reported = [x for x in data["indicators"] if x["value"] is not None]
    assert reported
    books: dict[str, openpyxl.Workbook] = {}
    for x in reported:
        src = x["lineage"]
        row = next(r for r in stored_value(store, x["indicator_id"]) if r["sha256"] == src["sha256"])
        path = row["path"]
        books.setdefault(path, openpyxl.load_workbook(path, data_only=True))
        cell = books[path][src["sheet"]][src["cell"]].value  # the figure is in that cell of that file
        assert float(cell) == pytest.approx(x["value"]), x["indicator_id"]
        assert src["file_name"] == Path(path).name and src["department"] and src["submitted_at"]
    assert all(c["lineage"]["cell"] for c in data["commitments"] if c["assessment"]["status"])
    sheet = {r["ID"]: r for r in read_indicator_sheet(Path(res.workbook))}
    row = stored_value(store, IND)[0]
    assert sheet[IND]["Source (file and cell)"] == f"{row['file_name']}, {row['sheet']}!{row['cell']}"
    shown = cli_json("history", "show", IND, "--period", str(P), "--store", str(store))["returns"]
    assert [(r["file_name"], r["cell"], r["value"]) for r in shown] == [(row["file_name"], row["cell"], row["value"])]


def deck_text(path: Path) -> list[tuple[str, str]]:
    out = []
    for s in Presentation(str(path)).slides:
        title = s.shapes.title.text_frame.text if s.shapes.title else ""
        parts = []
        for sh in s.shapes:
            if sh.has_text_frame:
                parts.append(sh.text_frame.text)
            if sh.has_table:
                parts += [c.text for row in sh.table.rows for c in row.cells]
        out.append((title, "\n".join(parts)))
    return out


def test_decks_publish_show_the_published_figures_and_later_changes(config: Config, inbox: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    consolidate(config, P, inbox, store, None, today=TODAY)
    row = stored_value(store, IND)[0]
    plan = config.plan_for_period(P)
    con = connect(store)
    expected = score_period(config, plan, P, load_inputs(con, config, plan, P))
    con.close()
    board = next(o for o in plan.outcomes if o.id == IND.split("-")[0][:2])
    first = write_decks(config, P.half(), store, tmp_path / "d1", board=board.board.id)
    con = sqlite3.connect(store)
    pubs = con.execute("SELECT id, version, trigger, published_by FROM publications").fetchall()
    assert [(v, t, u) for _, v, t, u in pubs] == [(1, "decks", getpass.getuser())]
    assert con.execute("SELECT sha256 FROM published_outputs").fetchall() == [
        (__import__("hashlib").sha256(first[0].read_bytes()).hexdigest(),)]
    detail = "\n".join(t for title, t in deck_text(first[0]) if title.startswith("Indicator detail"))
    assert f"Source: {row['file_name']}, {row['sheet']}!{row['cell']}." in detail  # where the figure came from

    digest = content_digest(connect(store))  # re-running on an unchanged store changes nothing
    again = write_decks(config, P.half(), store, tmp_path / "d1", board=board.board.id)
    assert content_digest(connect(store)) == digest and again[0].read_bytes() == first[0].read_bytes()

    correct(inbox)
    consolidate(config, P, inbox, store, None, today=TODAY)
    rebuilt = write_decks(config, P.half(), store, tmp_path / "d2", board=board.board.id)
    assert [t for t in deck_text(rebuilt[0]) if "Changes since" not in t[0]] == deck_text(first[0])  # as the board saw
    assert scores_from_dict(json.loads(json.dumps(scores_dict(expected), default=str))) == expected

    nxt = write_decks(config, P.half().next(), store, tmp_path / "d3", board=board.board.id)  # the next board's deck
    changes = [t for title, t in deck_text(nxt[0]) if title.startswith("Changes since the last report")]
    assert len(changes) == 1 and IND in changes[0] and "4,321" in changes[0] and row["file_name"] in changes[0]
    assert f"{row['value']:,.0f}" in changes[0]


def test_scrutiny_report_lists_changes_to_earlier_periods(config: Config, inbox: Path, tmp_path: Path) -> None:
    from docx import Document

    from plan_reports.scrutiny import write_scrutiny

    store = tmp_path / "s.sqlite"
    consolidate(config, P, inbox, store, None, today=TODAY)
    assert cli("publish", "--period", str(P), "--store", str(store)).returncode == 0
    correct(inbox)
    consolidate(config, P, inbox, store, None, today=TODAY)
    committee = next(c for c in config.committees.committees if c.covers("CG", "CG2", IND))
    rep = write_scrutiny(config, P.next(), store, tmp_path / "scr", committee.id, pdf=False)[0]
    doc = Document(str(rep.docx))
    assert "Changes since the last report" in [p.text for p in doc.paragraphs]
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    assert any(c.startswith(IND) for c in cells) and any("4,321" in c for c in cells)


def test_audit_log_in_time_order(config: Config, inbox: Path, tmp_path: Path) -> None:
    store, s = tmp_path / "s.sqlite", ["--store", str(tmp_path / "s.sqlite")]
    consolidate(config, P, inbox, store, None, today=TODAY)
    cli("publish", "--period", str(P), *s)
    correct(inbox)
    consolidate(config, P, inbox, store, None, today=TODAY)
    cli("unlock", "--period", str(P), "--reason", "correction from ET", *s)
    cli("publish", "--period", str(P), *s)
    log = cli_json("audit", "--period", str(P), *s)
    events = log["events"]
    times = [datetime.fromisoformat(e["at"]) for e in events]
    assert times == sorted(times)
    con = sqlite3.connect(store)
    n_subs = con.execute("SELECT COUNT(*) FROM submissions WHERE period = ?", (str(P),)).fetchone()[0]
    kinds = [e["event"] for e in events]
    assert kinds.count("submission recorded") == n_subs and kinds.count("publish") == 2 and kinds.count("unlock") == 1
    unlock = next(e for e in events if e["event"] == "unlock")
    assert unlock["reason"] == "correction from ET" and unlock["by"] == getpass.getuser()
    assert kinds[-2:] == ["unlock", "publish"]  # the unlock, then the publish that made version 2
    assert events[-1]["version"] == 2
    assert log["not_covered"] == []  # the store has the target register (schema 7), so target changes are logged
    con.execute("INSERT INTO agreed_targets (indicator_id, period, value, agreed_by, agreed_at, recorded_at) "
                "VALUES (?, ?, ?, ?, ?, ?)", (IND, "2025/26", 300, "Cabinet", "2025-04-01", "2099-01-01T00:00:00+00:00"))
    con.commit()
    last = cli_json("audit", "--period", str(P), *s)["events"][-1]
    assert last["event"] == "target agreed" and last["indicator_id"] == IND and last["value"] == 300
    bad = cli("unlock", "--period", "2024/25-Q1", "--reason", "x", *s)
    assert bad.returncode == 1 and "not been published" in bad.stdout


def test_a_store_from_the_previous_release_upgrades_without_loss(config: Config, inbox: Path, tmp_path: Path) -> None:
    """A v5 store, made by consolidating with today's code and then reduced to the v5 schema, opens and upgrades."""
    made = tmp_path / "made.sqlite"
    consolidate(config, P, inbox, made, None, today=TODAY)
    old = tmp_path / "old.sqlite"
    v5 = sqlite3.connect(old)
    for script in MIGRATIONS[:5]:
        v5.executescript(script)
    v5.execute("PRAGMA user_version = 5")
    v5.execute("ATTACH DATABASE ? AS src", (str(made),))
    tables = [r[0] for r in v5.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")]
    for t in tables:
        cols = [r[1] for r in v5.execute(f"PRAGMA main.table_info({t})")]
        v5.execute(f"INSERT INTO main.{t} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM src.{t}")
    v5.commit()
    v5.execute("DETACH DATABASE src")
    cols = {t: [r[1] for r in v5.execute(f"PRAGMA table_info({t})")] for t in tables}
    before = {t: v5.execute(f"SELECT {', '.join(cols[t])} FROM {t} ORDER BY 1").fetchall() for t in tables}
    assert before["indicator_values"] and before["commitment_updates"] and before["submissions"]
    v5.close()

    con = connect(old)
    assert schema_version(con) == len(MIGRATIONS) >= 6
    for t, rows in before.items():  # every v5 row and column is still there, unchanged
        assert [tuple(r) for r in con.execute(f"SELECT {', '.join(cols[t])} FROM {t} ORDER BY 1")] == rows, t
    con.close()
    out = cli_json("publish", "--period", str(P), "--store", str(old))
    assert out["status"] == "published"
    score = cli_json("score", "--period", str(P), "--store", str(old))
    x = next(i for i in score["indicators"] if i["indicator_id"] == IND)
    assert x["value"] == stored_value(old, IND)[0]["value"]
    assert x["lineage"]["file_name"] == "Tracker_ET_2025-26-Q2.xlsx" and x["lineage"]["cell"] is None
    assert "cell not recorded" in x["lineage"]["where"]
