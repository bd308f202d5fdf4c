"""Agreed targets (issue 18, part 2): the register, the proposal workbooks, import, trackers, scoring and X013."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from plan_reports.cli import main
from plan_reports.config import Config
from plan_reports.consolidate import consolidate
from plan_reports.periods import Period
from plan_reports.score import load_inputs, score_period
from plan_reports.store import connect
from plan_reports.targets import (
    AGREED_AT_ROW,
    AGREED_BY_ROW,
    COLUMNS,
    FIRST_ROW,
    HEADER_ROW,
    SHEET_TARGETS,
    export_targets,
    record_target,
    targets_filename,
)
from plan_reports.trackers import FIRST_ROW as TRACKER_FIRST_ROW
from plan_reports.trackers import SHEET_INDICATORS, col_letter, indicator_columns, write_trackers

Q2, Q3 = Period.parse("2025/26-Q2"), Period.parse("2025/26-Q3")
YEAR, NEXT_YEAR = Period.parse("2025/26"), Period.parse("2026/27")
COL = {c.key: n for n, c in enumerate(COLUMNS, 1)}


def _returned(con: sqlite3.Connection, period: Period) -> dict[str, sqlite3.Row]:
    """indicator -> its row in the current return for the period, read straight from the store."""
    q = ("SELECT v.* FROM indicator_values v JOIN current_submissions s ON s.id = v.submission_id WHERE v.period = ? "
         "ORDER BY s.team DESC, s.id")
    return {r["indicator_id"]: r for r in con.execute(q, (str(period),))}


def _plain(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    return con


@pytest.fixture(scope="module")
def q2_store(config: Config, samples: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample returns for 2025/26-Q2 consolidated into a fresh store (read-only: copy before changing)."""
    store = tmp_path_factory.mktemp("q2store") / "history.sqlite"
    consolidate(config, Q2, next(iter(samples.values())).parent, store, None)
    return store


@pytest.fixture
def store(q2_store: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "history.sqlite"
    src = connect(q2_store)  # a consistent copy (WAL included)
    con = sqlite3.connect(dst)
    src.backup(con)
    con.close()
    src.close()
    return dst


def _rated(config: Config, dept: str) -> list:
    plan = config.plans["2022-26"]
    return [i for _, _, i in plan.indicators() if i.department == dept and i.polarity in ("higher_better", "lower_better")]


def test_export_one_protected_plain_workbook_per_department_with_context(config: Config, store: Path,
                                                                       tmp_path: Path) -> None:
    written = export_targets(config, NEXT_YEAR, tmp_path / "out", store)
    assert sorted(p.name for p in written) == sorted(f"Targets_{d.id}_2026-27.xlsx" for d in config.organisation.departments)
    plan = config.plans["2022-26"]
    returned = _returned(_plain(store), Q2)  # the latest return up to the end of 2025/26
    compared = 0
    for path in written:
        with zipfile.ZipFile(path) as z:
            assert not [n for n in z.namelist() if "vbaProject" in n] and "macroEnabled" not in z.read("[Content_Types].xml").decode()
        dept = path.name.split("_")[1]
        wb = openpyxl.load_workbook(path)
        ws = wb[SHEET_TARGETS]
        assert ws.protection.sheet and wb.security.lockStructure
        props = {p.name: p.value for p in wb.custom_doc_props.props}
        assert props["pr_department"] == dept and props["pr_year"] == "2026/27"
        assert [ws.cell(HEADER_ROW, n).value for n in range(1, len(COLUMNS) + 1)] == [c.header for c in COLUMNS]
        mine = [i for _, _, i in plan.indicators() if i.department == dept]
        assert [ws.cell(r, 1).value for r in range(FIRST_ROW, FIRST_ROW + len(mine))] == [i.id for i in mine]
        assert ws.cell(FIRST_ROW + len(mine), 1).value is None
        for r, ind in enumerate(mine, FIRST_ROW):
            planned = next((t.value for t in ind.targets if t.period == "2026/27"), None)
            assert ws.cell(r, COL["plan_target"]).value == planned
            got = returned.get(ind.id)
            if got is not None and got["value"] is not None:
                assert ws.cell(r, COL["last_value"]).value == pytest.approx(got["value"])
                assert ws.cell(r, COL["last_period"]).value == (got["data_period"] or str(Q2))
                compared += 1
            rated = ind.polarity in ("higher_better", "lower_better")
            for key in COL:
                locked = ws.cell(r, COL[key]).protection.locked
                assert locked is not (rated and key in ("proposed", "notes")), (path.name, ind.id, key)
    assert compared >= 20


def _fill(path: Path, dst: Path, values: dict[str, object], ids: dict[int, str] | None = None, who: str | None = None) -> Path:
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_TARGETS]
    rows = {ws.cell(r, 1).value: r for r in range(FIRST_ROW, ws.max_row + 1) if ws.cell(r, 1).value}
    for ident, v in values.items():
        ws.cell(rows[ident], COL["proposed"], v)
    for r, ident in (ids or {}).items():
        ws.cell(r, COL["id"], ident)
    if who:
        ws.cell(AGREED_BY_ROW, 2, who)
    dst.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dst)
    return dst


def _import(capsys: pytest.CaptureFixture[str], store: Path, *files: Path, agreed_by: str | None = None) -> tuple[int, dict]:
    argv = ["targets", "import", *map(str, files), "--store", str(store), "--json"]
    code = main([*argv, "--agreed-by", agreed_by] if agreed_by else argv)
    return code, json.loads(capsys.readouterr().out)


def test_import_validates_records_and_reports_changes(config: Config, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "history.sqlite"
    book = export_targets(config, NEXT_YEAR, tmp_path / "out", None, ["PH"])[0]
    plan = config.plans["2022-26"]
    ph = [i for _, _, i in plan.indicators() if i.department == "PH"]
    pct = next(i for i in _rated(config, "PH") if i.unit == "percent")
    others = [i for i in _rated(config, "PH") if i is not pct][:2]
    unrated = next((i for i in ph if i.polarity not in ("higher_better", "lower_better")), None)
    foreign = next(i for _, _, i in plan.indicators() if i.department == "ET")
    a, b, c = pct.typical + 0.5, others[0].typical, others[1].typical  # plausible for each
    ok = {pct.id: a, others[0].id: b, others[1].id: "tbc"}
    first = _fill(book, tmp_path / "in1" / book.name, {**ok, **({unrated.id: 5} if unrated else {})},
                  ids={FIRST_ROW + len(ph): foreign.id}, who="Public Health DMT")
    # the foreign id row needs a proposed value too, else it is a blank row beyond the table
    wb = openpyxl.load_workbook(first)
    wb[SHEET_TARGETS].cell(FIRST_ROW + len(ph), COL["proposed"], 10)
    wb.save(first)
    code, out = _import(capsys, store, first)
    assert code == 1
    res = out["imports"][0]
    assert res["department"] == "PH" and res["year"] == "2026/27" and res["agreed_by"] == "Public Health DMT"
    by = {c["indicator_id"]: c for c in res["changes"]}
    assert by[pct.id]["status"] == "new" and by[pct.id]["value"] == a
    assert by[others[0].id]["status"] == "new" and by[others[0].id]["value"] == b
    assert by[others[1].id]["status"] == "refused" and "not a number" in by[others[1].id]["message"]
    assert by[foreign.id]["status"] == "refused" and "belongs to ET" in by[foreign.id]["message"]
    if unrated:
        assert by[unrated.id]["status"] == "refused"
    con = _plain(store)
    rows = {r["indicator_id"]: r for r in con.execute("SELECT * FROM agreed_targets")}
    assert set(rows) == {pct.id, others[0].id}  # refused rows are not recorded, the valid ones are
    assert rows[pct.id]["value"] == a and rows[pct.id]["period"] == "2026/27"
    assert rows[pct.id]["agreed_by"] == "Public Health DMT" and rows[pct.id]["file_name"] == book.name
    con.close()

    # implausible for the indicator: a percentage of 140 is refused, nothing recorded for it
    bad = _fill(book, tmp_path / "in2" / book.name, {pct.id: 140})
    code, out = _import(capsys, store, bad)
    assert code == 1 and out["imports"][0]["changes"][0]["status"] == "refused"
    assert "impossible" in out["imports"][0]["changes"][0]["message"]

    # the corrected workbook: one changed, one unchanged, one new; --agreed-by wins; exit 0
    again = _fill(book, tmp_path / "in3" / book.name, {pct.id: a + 1, others[0].id: b, others[1].id: c}, who="someone")
    code, out = _import(capsys, store, again, agreed_by="Cabinet")
    assert code == 0
    by = {c["indicator_id"]: c for c in out["imports"][0]["changes"]}
    assert (by[pct.id]["status"], by[pct.id]["previous"], by[pct.id]["value"]) == ("changed", a, a + 1)
    assert by[others[0].id]["status"] == "unchanged" and by[others[1].id]["status"] == "new"
    con = _plain(store)
    current = {r["indicator_id"]: (r["value"], r["agreed_by"]) for r in con.execute("SELECT * FROM current_agreed_targets")}
    assert current == {pct.id: (a + 1, "Cabinet"), others[0].id: (b, "Public Health DMT"), others[1].id: (c, "Cabinet")}
    assert con.execute("SELECT COUNT(*) FROM agreed_targets").fetchone()[0] == 4  # history kept, unchanged not re-recorded
    con.close()
    main(["targets", "import", str(again), "--store", str(store)])
    text = capsys.readouterr().out
    assert f"{pct.id}" in text and f"unchanged {a + 1:g}" in text

    # not a targets workbook: refused whole
    tracker = write_trackers(config, Q2, tmp_path / "tr", ["PH"])[0]
    code, out = _import(capsys, store, tracker)
    assert code == 1 and out["imports"][0]["status"] == "refused"


def test_trackers_prefill_agreed_locked_and_carry_last_quarters(config: Config, store: Path, tmp_path: Path) -> None:
    con = connect(store)
    returned = _returned(con, Q2)
    ind = _rated(config, "CE")[0]
    with con:
        record_target(con, ind.id, str(YEAR), 123.0, agreed_by="CMT", agreed_at="2025-03-01")
    con.close()
    written = write_trackers(config, Q3, tmp_path / "trackers", store=store)
    plan = config.plans["2022-26"]
    t = col_letter(indicator_columns(Q3), "target")
    checked = 0
    for path in written:
        ws = openpyxl.load_workbook(path)[SHEET_INDICATORS]
        validated = set()
        for dv in ws.data_validations.dataValidation:
            for rng in dv.sqref.ranges:
                validated |= {get_column_letter(c) + str(r) for r in range(rng.min_row, rng.max_row + 1)
                              for c in range(rng.min_col, rng.max_col + 1)}
        dept = path.name.split("_")[1]
        mine = [i for _, _, i in plan.indicators() if i.department == dept]
        for r, i in enumerate(mine, TRACKER_FIRST_ROW):
            assert ws.cell(r, 1).value == i.id
            cell = ws[f"{t}{r}"]
            if i.id == ind.id:
                assert cell.value == 123.0 and cell.protection.locked and cell.coordinate not in validated
            elif i.id in returned and returned[i.id]["target"] is not None:
                assert cell.value == pytest.approx(returned[i.id]["target"]), (i.id, cell.value)
                assert not cell.protection.locked and cell.coordinate in validated
                checked += 1
    assert checked >= 20


def test_scoring_uses_the_agreed_target_and_says_which(config: Config, store: Path) -> None:
    con = connect(store)
    returned = _returned(con, Q2)
    plan = config.plans["2022-26"]
    tolerance = [i for _, _, i in plan.indicators() if i.polarity == "higher_better" and i.id in returned
                 and returned[i.id]["value"] and returned[i.id]["target"] is not None
                 and config.scoring.rag.rule_for(i.id).type == "tolerance" and i.plausibility(returned[i.id]["value"]) is None]
    green, red, untouched = tolerance[:3]
    with con:
        record_target(con, green.id, str(Q2), returned[green.id]["value"], agreed_by="CMT", agreed_at="2025-03-01")
        record_target(con, red.id, str(YEAR), returned[red.id]["value"] * 3, agreed_by="CMT", agreed_at="2025-03-01")
        record_target(con, green.id, str(YEAR), returned[green.id]["value"] * 3, agreed_by="CMT", agreed_at="2025-03-01")
    scores = {s.indicator_id: s for s in score_period(config, plan, Q2, load_inputs(con, config, plan, Q2)).indicators}
    con.close()
    g, r, u = scores[green.id], scores[red.id], scores[untouched.id]
    assert g.target == returned[green.id]["value"]  # the quarter's own agreement beats the year's
    assert g.rating.status == "Green" and "agreed target for 2025/26-Q2 (CMT, 1 March 2025)" in g.rating.reason
    assert r.target == pytest.approx(returned[red.id]["value"] * 3)
    assert r.rating.status == "Red" and "agreed target for 2025/26" in r.rating.reason
    if not math.isclose(returned[red.id]["target"], r.target):
        assert "proposed" in r.rating.reason and "not used" in r.rating.reason
    assert r.rating.inputs["target_source"] == "agreed" and r.rating.inputs["return_target"] == returned[red.id]["target"]
    assert u.target == returned[untouched.id]["target"] and "target as given in the return" in u.rating.reason


def test_a_return_whose_target_differs_is_flagged_x013(config: Config, samples: dict[str, Path], tmp_path: Path,
                                                       q2_store: Path) -> None:
    returned = _returned(_plain(q2_store), Q2)
    plan = config.plans["2022-26"]
    ind = next(i for _, _, i in plan.indicators() if i.department == "CE" and returned.get(i.id) is not None
               and returned[i.id]["target"] is not None)
    mine = [i.id for _, _, i in plan.indicators() if i.department == "CE"]
    store = tmp_path / "history.sqlite"
    con = connect(store)
    with con:
        record_target(con, ind.id, str(YEAR), returned[ind.id]["target"] + 1, agreed_by="CMT", agreed_at="2025-03-01")
    con.close()
    folder = tmp_path / "returns"
    folder.mkdir()
    shutil.copy(samples["CE"], folder)
    result = consolidate(config, Q2, folder, store, None)
    con = _plain(store)
    sub = con.execute("SELECT * FROM submissions WHERE department = 'CE'").fetchone()
    issues = [i for i in json.loads(sub["issues_json"]) if i["code"] == "X013"]
    assert sub["accepted"] == 1 and len(issues) == 1  # a warning: the return is still accepted
    cell = f"{col_letter(indicator_columns(Q2), 'target')}{TRACKER_FIRST_ROW + mine.index(ind.id)}"
    assert issues[0]["severity"] == "warning" and issues[0]["sheet"] == SHEET_INDICATORS and issues[0]["cell"] == cell
    assert f"gives {returned[ind.id]['target']:g}" in issues[0]["message"]
    assert f"is {returned[ind.id]['target'] + 1:g}" in issues[0]["message"]
    s = next(x for x in result.scores.indicators if x.indicator_id == ind.id)
    assert s.target == returned[ind.id]["target"] + 1


def test_demo_agrees_targets_before_next_quarters_trackers(demo, config: Config) -> None:
    con = _plain(demo.store)
    agreed = {r["indicator_id"]: r for r in con.execute("SELECT * FROM current_agreed_targets WHERE period = '2025/26'")}
    assert len(agreed) >= 50 and {r["agreed_by"] for r in agreed.values()} == {"Corporate Management Team"}
    books = demo.extra["targets"]
    assert sorted(p.name for p in books) == sorted(targets_filename(d.id, YEAR) for d in config.organisation.departments)
    proposed = {}
    for p in books:
        ws = openpyxl.load_workbook(p)[SHEET_TARGETS]
        assert ws.cell(AGREED_AT_ROW, 2).value.date().isoformat() == "2025-03-01"
        for r in range(FIRST_ROW, ws.max_row + 1):
            if ws.cell(r, COL["proposed"]).value is not None:
                proposed[ws.cell(r, 1).value] = ws.cell(r, COL["proposed"]).value
    assert {k: r["value"] for k, r in agreed.items()} == pytest.approx(proposed)
    t = col_letter(indicator_columns(Q3), "target")
    seen = 0
    for path in demo.trackers:
        ws = openpyxl.load_workbook(path)[SHEET_INDICATORS]
        r = TRACKER_FIRST_ROW
        while ws.cell(r, 1).value:
            ident = ws.cell(r, 1).value
            if ident in agreed:
                assert ws[f"{t}{r}"].value == pytest.approx(agreed[ident]["value"]) and ws[f"{t}{r}"].protection.locked
                seen += 1
            r += 1
    assert seen == len(agreed)
