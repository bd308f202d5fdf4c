from __future__ import annotations

import openpyxl

from plan_reports.config import Config
from plan_reports.demo import demo_config
from plan_reports.periods import Period
from plan_reports.score import load_inputs, score_period
from plan_reports.store import connect
from plan_reports.trackers import COMMITMENT_COLUMNS, FIRST_ROW, SHEET_COMMITMENTS, SHEET_INDICATORS, col_letter, indicator_columns

Q2, Q3 = Period.parse("2025/26-Q2"), Period.parse("2025/26-Q3")


def test_demo_plants_real_life_problems(demo, config: Config) -> None:
    statuses = dict(s.split(": ", 1) for s in demo.latest_statuses)
    assert statuses["ET"] == "Accepted (late)" and statuses["CR"] == "Invalid: not accepted"
    assert sum(v.startswith("Accepted") for v in statuses.values()) == 5
    assert [p.name for p in demo.annotated] == ["Tracker_CR_2025-26-Q2_checked.xlsx"]
    assert demo.consolidated and demo.consolidated.exists()
    con = connect(demo.store)
    assert con.execute("SELECT COUNT(DISTINCT period) FROM submissions").fetchone()[0] == 8
    plan = config.plans["2022-26"]
    cfg = demo_config(config)  # the demo ranks among its anonymised comparator areas, never real councils
    scores = score_period(cfg, plan, Q2, load_inputs(con, cfg, plan, Q2))
    assert any(x.rating.status == "Red" for x in scores.indicators)
    assert any(x.position is not None for x in scores.indicators)
    real = score_period(config, plan, Q2, load_inputs(con, config, plan, Q2))
    assert all(x.position is None for x in real.indicators)  # simulated areas are members of no real group
    cr = [x for x in scores.indicators if x.department == "CR"]
    assert cr and all(x.rating.status in ("No data", "Data only") for x in cr)  # the invalid return was not used


def _frequency(config: Config, indicator_id: str) -> str:
    return next(i.frequency for _, _, i in config.plans["2022-26"].indicators() if i.id == indicator_id)


def test_next_quarters_trackers_roll_forward_from_the_store(demo, config: Config) -> None:
    ac = next(p for p in demo.trackers if "_AC_" in p.name)
    wb = openpyxl.load_workbook(ac)
    ws = wb[SHEET_INDICATORS]
    cols = indicator_columns(Q3)
    prev = col_letter(cols, "value_previous")
    assert ws[f"{prev}4"].value == "Period before"
    con = connect(demo.store)
    # "Period before" is the period before the one the data covers: for a quarterly figure of its own quarter, Q2
    stored = {r[0]: r[1] for r in con.execute(
        "SELECT v.indicator_id, v.value FROM indicator_values v JOIN current_submissions s ON s.id = v.submission_id "
        "WHERE v.period = ? AND s.department = 'AC' AND coalesce(v.data_period, v.period) = v.period", (str(Q2),))
        if _frequency(config, r[0]) == "quarterly"}
    r = FIRST_ROW
    compared = 0
    while ws.cell(r, 1).value:
        if stored.get(ws.cell(r, 1).value) is not None:
            assert ws[f"{prev}{r}"].value == stored[ws.cell(r, 1).value]
            compared += 1
        r += 1
    assert compared >= 3
    cws = wb[SHEET_COMMITMENTS]
    status = col_letter(COMMITMENT_COLUMNS, "status")
    carried = {r[0]: r[1] for r in con.execute(
        "SELECT c.commitment_id, c.status FROM commitment_updates c JOIN current_submissions s ON s.id = c.submission_id "
        "WHERE c.period = ? AND s.department = 'AC'", (str(Q2),))}
    r = FIRST_ROW
    while cws.cell(r, 1).value:
        assert cws[f"{status}{r}"].value == carried[cws.cell(r, 1).value]
        r += 1
