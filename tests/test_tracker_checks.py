"""Checks as the lead types: mistakes pasted into trackers are named in words and coloured, never shown as OK."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from plan_reports import preview
from plan_reports.config import Config
from plan_reports.office import convert_many
from plan_reports.periods import Period
from plan_reports.trackers import (
    COMMITMENT_COLUMNS,
    COMMITMENT_STATUSES,
    DATA_STATUSES,
    FIRST_ROW,
    SHEET_COMMITMENTS,
    SHEET_INDICATORS,
    col_letter,
    indicator_columns,
    write_trackers,
)

PERIOD = Period.parse("2025/26-Q2")
PINNED = datetime(2025, 10, 1, 9, 0, tzinfo=UTC)
ICOLS = indicator_columns(PERIOD)
IL = {c.key: col_letter(ICOLS, c.key) for c in ICOLS}
CL = {c.key: col_letter(COMMITMENT_COLUMNS, c.key) for c in COMMITMENT_COLUMNS}

# (which indicator, what the lead pasted, words the Checks cell must contain)
INDICATOR_MISTAKES: list[tuple[Any, dict[str, Any], str]] = [
    (lambda i: i.unit == "percent", {"value": -5, "data_status": "Final"}, "Fix: a percentage is from 0 to 100."),
    (lambda i: i.unit == "percent", {"value": 140, "data_status": "Final"}, "Fix: a percentage is from 0 to 100."),
    (lambda i: i.unit == "percent", {"value": 0.12, "data_status": "Final"}, "Check: this looks like a fraction"),
    (lambda i: True, {"value": "12%", "data_status": "Final"}, "Fix: the value is text"),
    (lambda i: True, {"value": None, "data_status": None}, "To do: type the value"),
    (lambda i: True, {"value": None, "data_status": "Not yet available"}, "Fix: give the reason there is no value"),
    (lambda i: True, {"value": None, "data_status": "Final"}, "Fix: no value: type it"),
    (lambda i: i.polarity != "data_only", {"value": 50, "data_status": "final copy"}, "Fix: data status must be"),
    (lambda i: True, {"value": 50, "data_status": "Not yet available", "reason": "late"},
     "Check: there is a value but the data status says Not yet available."),
    (lambda i: i.unit == "count", {"value": -3, "data_status": "Final"}, "Fix: a count cannot be negative."),
    (lambda i: i.polarity == "higher_better" and i.unit == "percent" and i.rate is None
     and (getattr(i, "plausible", None) is None or i.plausible.low < 80),
     {"value": "__lowest_plausible__", "target": 100, "data_status": "Final"}, "Fix: Red needs commentary"),
    (lambda i: i.rate is not None, {"value": 50, "numerator": 10, "denominator": 100, "data_status": "Final"},
     "Fix: the value does not match numerator / denominator"),
    (lambda i: i.rate is not None, {"value": 50, "numerator": 10, "data_status": "Final"},
     "Fix: give both the numerator and the denominator"),
    (lambda i: getattr(i, "plausible", None) is not None and i.unit not in ("percent",),
     {"value": "__above_plausible__", "data_status": "Final"}, "Check: outside the plausible range"),
    (lambda i: True, {"value": 50, "data_status": "Final", "data_period": "2019/20"}, "Check: the comparison columns are for"),
]
D = datetime
COMMITMENT_MISTAKES: list[tuple[dict[str, Any], str]] = [
    ({"status": None}, "To do: choose a status."),
    ({"status": "Done"}, "Fix: choose a status from the list."),
    ({"status": "Major disruption", "challenges": None}, "Fix: explain the disruption"),
    ({"status": "Deferred", "challenges": None}, "Fix: say under Challenges why it was deferred"),
    ({"status": "Minor disruption", "challenges": None}, "Check: say what the disruption is"),
    ({"status": "Completed", "percent_complete": 0.9, "completion_date": D(2025, 6, 1)}, "Fix: Completed needs"),
    ({"status": "Completed", "percent_complete": 1, "completion_date": None}, "Fix: Completed needs"),
    ({"status": "On track", "percent_complete": 1.5}, "Fix: % complete is from 0% to 100%."),
    ({"status": "On track", "percent_complete": "45 percent"}, "Fix: % complete is text"),
    ({"status": "On track", "start_date": D(2025, 6, 1), "target_date": D(2025, 1, 1), "percent_complete": 0.5},
     "Fix: the target date is before the start date."),
    ({"status": "Completed", "percent_complete": 1, "start_date": D(2025, 6, 1), "completion_date": D(2025, 1, 1)},
     "Fix: the completion date is before the start date."),
    ({"status": "On track", "start_date": "31/13/2025"}, "Fix: the start date is not a date"),
    ({"status": "On track", "start_date": D(2023, 1, 1), "target_date": D(2024, 1, 1), "percent_complete": 0.5},
     "Check: the target date has passed"),
    ({"status": "On track", "start_date": D(2024, 1, 1), "target_date": D(2027, 1, 1), "percent_complete": 0.05},
     "Check: On track, but % complete is well behind"),
    ({"status": "Not started", "start_date": D(2025, 1, 1), "target_date": D(2027, 1, 1)}, "Check: Not started"),
    ({"status": "On track", "completion_date": D(2025, 6, 1)}, "Check: there is a completion date"),
]
PASSED_BUT_EXPLAINED = {"status": "Minor disruption", "start_date": D(2023, 1, 1), "target_date": D(2024, 1, 1),
                        "percent_complete": 0.8, "challenges": "Contractor delay; new date agreed with the board."}
ALL_GOOD = {"status": "On track", "lead_officer": "A. Patel", "start_date": D(2025, 1, 1), "target_date": D(2027, 3, 31),
            "percent_complete": 0.3}


@pytest.fixture(scope="module")
def planted(config: Config, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("checks")
    inds = {i.id: i for _, _, i in config.plans["2022-26"].indicators()}
    files, expect_ind, expect_com = [], {}, {}
    pending = list(enumerate(INDICATOR_MISTAKES))
    commitments = list(enumerate([*COMMITMENT_MISTAKES, (PASSED_BUT_EXPLAINED, "OK"), (ALL_GOOD, "OK")]))
    for path in write_trackers(config, PERIOD, tmp / "blank", generated_at=PINNED):
        wb = openpyxl.load_workbook(path)
        ws = wb[SHEET_INDICATORS]
        r = FIRST_ROW
        while ws[f"A{r}"].value and pending:
            ind = inds[ws[f"A{r}"].value]
            hit = next(((n, m) for n, m in pending if m[0](ind)), None)
            if hit:
                pending.remove(hit)
                n, (_, cells, words) = hit
                for key, v in cells.items():
                    if v == "__above_plausible__":
                        v = ind.plausible.high * 2 + 10
                    elif v == "__lowest_plausible__":
                        v = max(getattr(ind.plausible, "low", 1), 1)
                    ws[f"{IL[key]}{r}"] = v
                expect_ind[(path.name, r)] = (n, words)
            r += 1
        wc = wb[SHEET_COMMITMENTS]
        r = FIRST_ROW
        while wc[f"A{r}"].value and commitments:
            n, (cells, words) = commitments.pop(0)
            for key, v in {**ALL_GOOD, **cells}.items():
                wc[f"{CL[key]}{r}"] = v
            expect_com[(path.name, r)] = (n, words)
            r += 1
        out = tmp / "filled" / path.name
        out.parent.mkdir(exist_ok=True)
        wb.save(out)
        files.append(out)
    assert not pending and not commitments, "not enough rows to plant every mistake"
    recalculated = convert_many(files, tmp / "lo", "xlsx:Calc MS Excel 2007 XML")
    return {"filled": files, "recalculated": recalculated, "ind": expect_ind, "com": expect_com}


@pytest.mark.office
def test_every_planted_indicator_mistake_is_named_and_never_ok(planted: dict[str, Any]) -> None:
    got = {}
    for out in planted["recalculated"]:
        ws = openpyxl.load_workbook(out, data_only=True)[SHEET_INDICATORS]
        for (name, r), (n, words) in planted["ind"].items():
            if name == out.name:
                got[n] = (ws[f"{IL['checks']}{r}"].value, ws[f"{IL['rag_preview']}{r}"].value, words)
    assert len(got) == len(INDICATOR_MISTAKES)
    for n, (text, rag, words) in sorted(got.items()):
        assert words in text and text != "OK", (n, text, words)
        if words.startswith(("Fix: a percentage", "Fix: the value is text", "Fix: a count", "Check: this looks")):
            assert rag in ("Check value",), (n, rag)  # an impossible value never previews Green


@pytest.mark.office
def test_every_planted_commitment_mistake_is_named_and_explained_dates_clear(planted: dict[str, Any]) -> None:
    got = {}
    for out in planted["recalculated"]:
        ws = openpyxl.load_workbook(out, data_only=True)[SHEET_COMMITMENTS]
        for (name, r), (n, words) in planted["com"].items():
            if name == out.name:
                got[n] = (ws[f"{CL['checks']}{r}"].value, words)
    assert len(got) == len(COMMITMENT_MISTAKES) + 2
    for n, (text, words) in sorted(got.items()):
        if words == "OK":
            assert text == "OK", (n, text)  # a passed target date explained under Challenges clears
        else:
            assert words in text and text != "OK", (n, text, words)


@pytest.mark.office
def test_libreoffice_and_python_evaluate_the_checks_alike(planted: dict[str, Any], config: Config) -> None:
    """The same expressions give the cached values: every checks cell LibreOffice computes, Python computes too."""
    inds = {i.id: i for _, _, i in config.plans["2022-26"].indicators()}
    com_expr = preview.commitment_checks_expr(COMMITMENT_STATUSES, PERIOD.end, config.scoring.commitments.behind_margin_pct)
    compared = 0
    for filled, out in zip(planted["filled"], planted["recalculated"], strict=True):
        src, calc = openpyxl.load_workbook(filled), openpyxl.load_workbook(out, data_only=True)
        for sheet, cols in ((SHEET_INDICATORS, ICOLS), (SHEET_COMMITMENTS, COMMITMENT_COLUMNS)):
            ws, wc = src[sheet], calc[sheet]
            r = FIRST_ROW
            while ws[f"A{r}"].value:
                env = {c.key: ws[f"{col_letter(cols, c.key)}{r}"].value for c in cols if c.key not in ("checks",)}
                checks = f"{col_letter(cols, 'checks')}{r}"
                if sheet == SHEET_INDICATORS:
                    ind = inds[env["id"]]
                    env["rag_preview"] = wc[f"{IL['rag_preview']}{r}"].value
                    # the formula compares the period typed with the default it was generated with
                    expr = preview.indicator_checks_expr(ind, DATA_STATUSES, _default_period(src, filled, r))
                else:
                    expr = com_expr
                assert preview.evaluate(expr, env, date.today()) == wc[checks].value, (filled.name, sheet, r)
                compared += 1
                r += 1
    assert compared > 150


def _default_period(wb: Any, path: Path, r: int) -> str:
    formula = wb[SHEET_INDICATORS][f"{IL['checks']}{r}"].value
    return re.search(rf'{IL["data_period"]}{r}<>"([^"]+)"', formula).group(1)
