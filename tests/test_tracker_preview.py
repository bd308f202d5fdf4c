"""One rule engine, two renderings: the tracker's RAG preview agrees with the scorer, in Python and in LibreOffice."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest

from plan_reports import preview
from plan_reports.config import Config
from plan_reports.models import Indicator, RagRule
from plan_reports.office import convert_many
from plan_reports.periods import Period
from plan_reports.score import rate_indicator
from plan_reports.trackers import (
    COMMITMENT_COLUMNS,
    COMMITMENT_STATUSES,
    DATA_STATUSES,
    FIRST_ROW,
    SHEET_INDICATORS,
    col_letter,
    indicator_columns,
    target_for,
    write_trackers,
)

PERIOD = Period.parse("2025/26-Q2")
PINNED = datetime(2025, 10, 1, 9, 0, tzinfo=UTC)
SCORER_WORDS = {"No data", "No target", "Data only", "Green", "Amber", "Red"}
EXCEL_2016 = {"IF", "AND", "OR", "NOT", "ISNUMBER", "ISTEXT", "ABS", "MAX", "MIN", "INT", "LEN", "ROUND", "TRIM", "TODAY"}


def cases(ind: Indicator, rule: RagRule) -> list[tuple[float | None, float | None, float | None]]:
    """(value, target, same period last year) on and around every boundary of the indicator's own rule."""
    tol = rule.tolerance_pct / 100
    if ind.polarity == "data_only":
        return [(12.0, None, None), (None, None, None)]
    if ind.polarity == "within_range":
        assert ind.range is not None
        lo, hi = ind.range.low, ind.range.high
        lo_edge, hi_edge = lo - abs(lo) * tol, hi + abs(hi) * tol
        return [(lo, None, None), (hi, None, None), ((lo + hi) / 2, None, None), (lo_edge, None, None),
                (hi_edge, None, None), (lo_edge - abs(lo) * tol / 2, None, None), (hi_edge + abs(hi) * tol / 2, None, None),
                (None, None, None)]
    base = target_for(ind, PERIOD) or (ind.baselines[-1].value if ind.baselines else None) or 40.0
    p = getattr(ind, "plausible", None)
    if p is not None and not p.low <= base <= p.high:
        base = (p.low + p.high) / 2
    t = float(base)
    sign = 1 if ind.polarity == "higher_better" else -1
    step = abs(t) * 0.02 or 1.0
    worse = lambda k: t - sign * step * k  # noqa: E731
    out: list[tuple[float | None, float | None, float | None]] = [(t, t, None), (t + sign * step, t, None), (t, None, None),
                                                                (None, t, None)]
    if rule.type == "tolerance":
        edge = t - sign * abs(t) * tol
        out += [(edge, t, None), (edge + sign * step / 4, t, None), (edge - sign * step / 4, t, None), (worse(1), t, None)]
    elif rule.type == "floor":
        assert rule.floor is not None
        f = rule.floor
        out += [(f, t, None), (f - sign * step, t, None), ((f + t) / 2, t, None)]
    else:
        out += [(worse(1), t, worse(2)), (worse(2), t, worse(1)), (worse(1), t, worse(1)), (worse(1), t, None)]
    return out


def scorer_status(ind: Indicator, rule: RagRule, v: float | None, t: float | None, ly: float | None) -> str:
    return rate_indicator(ind, rule, v, t, last_year=ly).status


def env(v: float | None, t: float | None, ly: float | None) -> dict[str, float | None]:
    return {"value": v, "target": t, "value_last_year": ly}


def test_preview_agrees_with_the_scorer_for_every_indicator_rule_and_boundary(config: Config) -> None:
    compared = {"tolerance": 0, "floor": 0, "improvement": 0, "within_range": 0, "data_only": 0}
    for _, _, ind in config.plans["2022-26"].indicators():
        rule = config.scoring.rag.rule_for(ind.id)
        expr = preview.preview_expr(ind, rule)
        for v, t, ly in cases(ind, rule):
            got = preview.evaluate(expr, env(v, t, ly), date(2025, 10, 1))
            # "Check value" too: a value the measure cannot plausibly take is questioned by both, never rated
            assert got == scorer_status(ind, rule, v, t, ly), (ind.id, rule.type, ind.polarity, v, t, ly)
            kind = ind.polarity if ind.polarity in ("within_range", "data_only") else rule.type
            compared[kind] += 1
    assert all(n >= 5 for n in compared.values()), compared


def test_formulas_use_only_excel_2016_functions_within_excel_limits(config: Config) -> None:
    plan = config.plans["2022-26"]
    letters = {c.key: col_letter(indicator_columns(PERIOD), c.key) for c in indicator_columns(PERIOD)}
    formulas = []
    for _, _, ind in plan.indicators():
        rule = config.scoring.rag.rule_for(ind.id)
        formulas.append(preview.render(preview.preview_expr(ind, rule), letters, FIRST_ROW))
        formulas.append(preview.render(preview.indicator_checks_expr(ind, DATA_STATUSES, "2024/25"), letters, FIRST_ROW))
    c_letters = {c.key: col_letter(COMMITMENT_COLUMNS, c.key) for c in COMMITMENT_COLUMNS}
    formulas.append(preview.render(preview.commitment_checks_expr(COMMITMENT_STATUSES, PERIOD.end, 20), c_letters, FIRST_ROW))
    for f in formulas:
        unquoted = re.sub(r'"[^"]*"', '""', f)
        assert set(re.findall(r"([A-Z][A-Z0-9.]*)\(", unquoted)) <= EXCEL_2016, f
        assert len(f) < 8192
        depth = max_depth = 0
        for ch in unquoted:
            depth += ch == "("
            depth -= ch == ")"
            max_depth = max(max_depth, depth)
        assert max_depth < 64


@pytest.mark.office
def test_recalculated_preview_matches_the_scorer_on_every_row(config: Config, tmp_path: Path) -> None:
    """Fill trackers of every department with boundary cases, recalculate in LibreOffice, compare row by row."""
    plan = config.plans["2022-26"]
    inds = {i.id: i for _, _, i in plan.indicators()}
    cols = indicator_columns(PERIOD)
    L = {c.key: col_letter(cols, c.key) for c in cols}
    blank = write_trackers(config, PERIOD, tmp_path / "blank", generated_at=PINNED)
    n_variants = max(len(cases(i, config.scoring.rag.rule_for(i.id))) for i in inds.values())
    filled, expected = [], {}
    for path in blank:
        for k in range(n_variants):
            wb = openpyxl.load_workbook(path)
            ws = wb[SHEET_INDICATORS]
            r = FIRST_ROW
            while ws[f"A{r}"].value:
                ind = inds[ws[f"A{r}"].value]
                rule = config.scoring.rag.rule_for(ind.id)
                cs = cases(ind, rule)
                v, t, ly = cs[k % len(cs)]
                ws[f"{L['value']}{r}"], ws[f"{L['target']}{r}"], ws[f"{L['value_last_year']}{r}"] = v, t, ly
                want = preview.evaluate(preview.preview_expr(ind, rule), env(v, t, ly), date.today())
                if want != "Check value":
                    assert want == scorer_status(ind, rule, v, t, ly)
                expected[(f"{path.stem}_{k}", r)] = (ind.id, rule.type, v, t, ly, want)
                r += 1
            out = tmp_path / "filled" / f"{path.stem}_{k}.xlsx"
            out.parent.mkdir(exist_ok=True)
            wb.save(out)
            filled.append(out)
    recalculated = convert_many(filled, tmp_path / "lo", "xlsx:Calc MS Excel 2007 XML")
    disagreements = []
    for out in recalculated:
        ws = openpyxl.load_workbook(out, data_only=True)[SHEET_INDICATORS]
        for (stem, r), (ident, kind, v, t, ly, want) in expected.items():
            if stem == out.stem:
                got = ws[f"{L['rag_preview']}{r}"].value
                if got != want:
                    disagreements.append((ident, kind, v, t, ly, want, got))
    assert len(expected) > 500
    assert not disagreements, disagreements[:10]
