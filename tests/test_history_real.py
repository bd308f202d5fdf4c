"""Real published files (OGL v3, copied into tests/data with their attribution), with Trafford playing the council:
every import stores exactly the source's values for the right measure and breakdown, or refuses naming the fix, and
every comparator position is the one pandas computes independently for the latest period by date."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REALDATA, TRAFFORD, trafford_config
from plan_reports.config import Config, load_config
from plan_reports.history import import_history, query
from plan_reports.periods import Period, parse_span
from plan_reports.score import load_inputs, score_period
from plan_reports.store import connect

RECYCLING = REALDATA / "climate" / "household_waste_recycling.csv"
HLE = REALDATA / "health" / "healthy_life_expectancy.csv"
EV = REALDATA / "climate" / "electric_vehicle_charging_points.csv"
EMPLOYMENT = REALDATA / "poverty" / "employment_rate.csv"
CLAIMANTS = REALDATA / "poverty" / "claimant_count.csv"
CIPFA = set(pd.read_csv(REALDATA / "cipfa2021.csv")["area_code"])
P = Period.parse("2025/26-Q2")


def _stored(con: object, indicator: str) -> dict[tuple[str, str], float]:
    return {(r["area_code"], r["period"]): r["value"] for r in query(con, indicator) if r["value"] is not None}


def _expected(df: pd.DataFrame) -> dict[tuple[str, str], float]:
    df = df.dropna(subset=["value"])
    return {(a, p): float(v) for a, p, v in zip(df.area_code, df.period, df.value, strict=True)}


def _reordered(tmp_path: Path, measure_first: str) -> Path:
    df = pd.read_csv(RECYCLING, dtype=str, keep_default_na=False)
    df = pd.concat([df[df.measure == measure_first], df[df.measure != measure_first]])
    out = tmp_path / f"recycling_{measure_first}_first.csv"
    df.to_csv(out, index=False)
    return out


@pytest.mark.parametrize("first", ["Frequency", "Percentage"])
def test_recycling_stores_the_percentage_whichever_rows_come_first(trafford: Config, tmp_path: Path, first: str) -> None:
    con = connect(tmp_path / "s.sqlite")
    res = import_history(con, _reordered(tmp_path, first), trafford)
    assert res.status == "imported", res.message
    df = pd.read_csv(RECYCLING)
    assert _stored(con, "CG3-01") == _expected(df[df.measure == "Percentage"])
    assert max(_stored(con, "CG3-01").values()) <= 100


def _unmapped(dst: Path, indicator: str, title: str) -> Config:
    """The Trafford config with one indicator mapped by its title only, without the breakdown it needs."""
    root = trafford_config(dst)
    plan = root / "plans" / "2022-26.yaml"
    doc = yaml.safe_load(plan.read_text())
    for o in (*doc["outcomes"], doc.get("enabling") or {"sub_outcomes": []}):
        for s in o["sub_outcomes"]:
            for i in s.get("indicators", []):
                if i["id"] == indicator:
                    i.pop("series", None)
                    i["source_names"] = [title]
    plan.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return load_config(root)


def test_two_measures_under_one_title_are_refused_naming_the_column_then_fixed_with_where(tmp_path: Path) -> None:
    cfg = _unmapped(tmp_path / "config", "CG3-01", "Household waste sent for reuse, recycling or composting")
    con = connect(tmp_path / "s.sqlite")
    src = _reordered(tmp_path, "Frequency")
    refused = import_history(con, src, cfg)
    assert refused.status == "refused" and refused.stored == 0
    assert "'measure' (Frequency / Percentage)" in refused.message and "--where measure=Percentage" in refused.message
    assert con.execute("SELECT count(*) FROM area_values").fetchone()[0] == 0
    fixed = import_history(con, src, cfg, where={"measure": "Percentage"})  # not "already imported"
    assert fixed.status == "imported"
    df = pd.read_csv(RECYCLING)
    assert _stored(con, "CG3-01") == _expected(df[df.measure == "Percentage"])


def test_a_count_where_a_percentage_belongs_is_refused_as_implausible(tmp_path: Path) -> None:
    cfg = _unmapped(tmp_path / "config", "CG3-01", "Household waste sent for reuse, recycling or composting")
    con = connect(tmp_path / "s.sqlite")
    res = import_history(con, RECYCLING, cfg, where={"measure": "Frequency"})
    assert res.status == "refused" and "not plausible" in res.message and "CG3-01" in res.message
    df = pd.read_csv(RECYCLING, dtype=str, keep_default_na=False)
    first_bad = int(df.index[(df.measure == "Frequency") & (df.value != "")][0]) + 2  # the header is line 1
    assert f"rows {first_bad}," in res.message
    assert con.execute("SELECT count(*) FROM area_values").fetchone()[0] == 0


def test_female_healthy_life_expectancy_gets_the_female_rows(trafford: Config, tmp_path: Path) -> None:
    con = connect(tmp_path / "s.sqlite")
    res = import_history(con, HLE, trafford)
    assert res.status == "imported", res.message
    df = pd.read_csv(HLE)
    assert _stored(con, "SW3-01") == _expected(df[df.inequality == "Female"])
    assert set(res.indicators) == {"SW3-01"}


def test_a_breakdown_without_a_mapping_is_refused_naming_sex(tmp_path: Path) -> None:
    cfg = _unmapped(tmp_path / "config", "SW3-01", "Healthy life expectancy at birth")
    res = import_history(connect(tmp_path / "s.sqlite"), HLE, cfg)
    assert res.status == "refused" and "'inequality' (Female / Male)" in res.message
    assert "--where inequality=" in res.message


def _fingertips_export(tmp_path: Path) -> Path:
    """The real HLE figures laid out as OHID's Fingertips 'all data' CSV: every area twice (two parent areas), plus a
    deprivation-decile row, as Fingertips exports them."""
    header = [
        "Indicator ID", "Indicator Name", "Parent Code", "Parent Name", "Area Code", "Area Name", "Area Type", "Sex",
        "Age", "Category Type", "Category", "Time period", "Value", "Lower CI 95.0 limit", "Upper CI 95.0 limit",
        "Lower CI 99.8 limit", "Upper CI 99.8 limit", "Count", "Denominator", "Value note", "Recent Trend",
        "Compared to England value or percentiles", "Compared to Region value or percentiles", "Time period Sortable",
        "New data", "Compared to goal",
    ]
    df = pd.read_csv(HLE, dtype=str, keep_default_na=False)
    rows = []
    for _, r in df.iterrows():
        base = dict.fromkeys(header, "")
        base.update({"Indicator ID": "90362", "Indicator Name": "Healthy life expectancy at birth", "Area Code": r.area_code,
                     "Area Name": r.area_name, "Area Type": r.area_type, "Sex": r.inequality, "Age": "All ages",
                     "Time period": r.period, "Value": r.value})
        rows.append({**base, "Parent Code": "E92000001", "Parent Name": "England"})
        rows.append({**base, "Parent Code": "E12000002", "Parent Name": "North West region"})
        if r.area_code == TRAFFORD:
            rows.append({**base, "Category Type": "LSOA11 deprivation deciles within area", "Category": "Most deprived",
                         "Value": "51.0"})
    out = tmp_path / "indicators-DistrictUApre2019.data.csv"
    pd.DataFrame(rows, columns=header).to_csv(out, index=False)
    return out


def test_a_fingertips_export_imports_as_it_comes(trafford: Config, tmp_path: Path) -> None:
    con = connect(tmp_path / "s.sqlite")
    res = import_history(con, _fingertips_export(tmp_path), trafford)
    assert res.status == "imported", res.message
    df = pd.read_csv(HLE)
    assert _stored(con, "SW3-01") == _expected(df[df.inequality == "Female"])
    assert res.filtered_out == int((df.area_code == TRAFFORD).sum())  # the decile rows, left out
    assert res.duplicates > 0  # each area twice, identical: kept once


def _position(cfg: Config, con: object, indicator: str) -> tuple[object, str | None]:
    plan = cfg.plans["2022-26"]
    scores = score_period(cfg, plan, P, load_inputs(con, cfg, plan, P))
    x = next(s for s in scores.indicators if s.indicator_id == indicator)
    return x.position, x.comparator_period


def _independent_rank(df: pd.DataFrame, period: str, higher_better: bool) -> tuple[int, int, int]:
    df = df[(df.period == period) & (df.area_code.isin(CIPFA | {TRAFFORD}))].dropna(subset=["value"])
    ranks = df["value"].rank(ascending=not higher_better, method="min")
    mine = int(ranks[df.area_code == TRAFFORD].iloc[0])
    n = len(df)
    return mine, n, min(4, -(-4 * mine // n))


def _latest_by_end(df: pd.DataFrame) -> str:
    with_us = df[(df.area_code == TRAFFORD)].dropna(subset=["value"])
    return max(with_us.period.unique(), key=lambda p: parse_span(p).end)


@pytest.mark.parametrize(("path", "indicator", "measure", "higher_better", "expected_latest"), [
    (RECYCLING, "CG3-01", "Percentage", True, "2021/22"),
    (EV, "CG1-03", "Per 100,000 population", True, "2024-04"),
])
def test_rank_and_quartile_among_cipfa_neighbours_for_the_latest_period_by_date(
        trafford: Config, tmp_path: Path, path: Path, indicator: str, measure: str, higher_better: bool,
        expected_latest: str) -> None:
    con = connect(tmp_path / "s.sqlite")
    res = import_history(con, path, trafford, group="cipfa_nn")
    assert res.status == "imported", res.message
    df = pd.read_csv(path)
    df = df[df.measure == measure]
    latest = _latest_by_end(df)
    assert latest == expected_latest  # dated, not spelt: 2024-04 is after 2024-01
    position, period = _position(trafford, con, indicator)
    assert period == latest and position is not None
    assert (position.rank, position.group_size, position.quartile) == _independent_rank(df, latest, higher_better)
    assert position.group_size <= len(CIPFA) + 1


def test_a_national_file_with_a_group_keeps_only_the_members(trafford: Config, tmp_path: Path) -> None:
    con = connect(tmp_path / "s.sqlite")
    res = import_history(con, HLE, trafford, group="cipfa_nn")
    df = pd.read_csv(HLE)
    female = df[df.inequality == "Female"]
    assert res.not_members == int((~female.area_code.isin(CIPFA | {TRAFFORD})).sum())
    assert {a for a, _ in _stored(con, "SW3-01")} <= CIPFA | {TRAFFORD}
    position, period = _position(trafford, con, "SW3-01")
    assert position is not None and position.group_size <= 16
    assert (position.rank, position.group_size, position.quartile) == _independent_rank(female, period, True)


def test_rolling_years_and_worded_months_are_dated(trafford: Config, tmp_path: Path) -> None:
    con = connect(tmp_path / "s.sqlite")
    assert import_history(con, EMPLOYMENT, trafford).status == "imported"
    assert import_history(con, CLAIMANTS, trafford).status == "imported"
    periods = [r["period"] for r in query(con, "SETI1-05") if r["area_code"] == TRAFFORD]
    assert periods == sorted(periods, key=lambda p: parse_span(p).end) and periods[-1] == "Jan 2023-Dec 2023"
    _, employment_period = _position(trafford, con, "SETI1-05")
    assert employment_period == "Jan 2023-Dec 2023"
    claims = pd.read_csv(CLAIMANTS)
    claims = claims[claims.measure == "Percentage"]
    _, claimant_period = _position(trafford, con, "SETI1-03")
    assert claimant_period == _latest_by_end(claims) == "April 2024"  # by date; by spelling it was "September 2023"
    labels = {r["period"]: r["period_label"] for r in query(con, "SETI1-03")}
    assert labels["April 2021"] == "April 2021"


def test_a_file_that_matches_nothing_exits_1_naming_its_titles_then_imports_once_mapped(tmp_path: Path) -> None:
    root = trafford_config(tmp_path / "config")
    src = REALDATA / "poverty" / "neet.csv"
    store = tmp_path / "s.sqlite"
    plan = root / "plans" / "2022-26.yaml"
    text = plan.read_text()
    plan.write_text(text.replace("- 16-17 year olds not in education, employment or training (NEET)\n", "- unmapped\n"))
    cli = [sys.executable, "-m", "plan_reports", "--config", str(root), "history", "import", str(src), "--store", str(store)]
    proc = subprocess.run(cli, capture_output=True, text=True)
    assert proc.returncode == 1 and "REFUSED" in proc.stdout and "no row matched a plan indicator" in proc.stdout
    assert "16-17 year olds not in education, employment or training (NEET)" in proc.stdout
    plan.write_text(text)  # the source name is added: the same file now imports (not "already imported")
    proc = subprocess.run([*cli, "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = json.loads(proc.stdout)["imports"][0]
    df = pd.read_csv(src)
    want = df[df.indicator == "16-17 year olds not in education, employment or training (NEET)"].dropna(subset=["value"])
    assert got["status"] == "imported" and got["stored"] == len(want) and got["indicators"] == {"IO4-01": len(want)}


def test_several_files_each_reported_with_the_worst_exit(tmp_path: Path) -> None:
    root = trafford_config(tmp_path / "config")
    bad = tmp_path / "bad.csv"
    bad.write_text("code,val\nX,1\n")
    proc = subprocess.run([sys.executable, "-m", "plan_reports", "--config", str(root), "history", "import", str(RECYCLING),
                           str(bad), "--store", str(tmp_path / "s.sqlite"), "--json"], capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    a, b = json.loads(proc.stdout)["imports"]
    assert a["status"] == "imported" and a["indicators"] == {"CG3-01": a["stored"]}
    assert b["status"] == "refused" and "area_code" in b["message"]


def test_reimporting_with_other_options_replaces_and_keeps_history(trafford: Config, tmp_path: Path) -> None:
    con = connect(tmp_path / "s.sqlite")
    first = import_history(con, HLE, trafford)
    again = import_history(con, HLE, trafford)
    assert (first.status, again.status) == ("imported", "already imported")
    grouped = import_history(con, HLE, trafford, group="cipfa_nn")
    assert grouped.status == "replaced"
    imports = con.execute("SELECT id, superseded_by FROM imports ORDER BY id").fetchall()
    assert len(imports) == 2 and imports[0][1] == imports[1][0] and imports[1][1] is None
    assert {a for a, _ in _stored(con, "SW3-01")} <= CIPFA | {TRAFFORD}  # only the newer import counts


def test_an_unparseable_period_refuses_the_file_naming_the_row(trafford: Config, tmp_path: Path) -> None:
    df = pd.read_csv(RECYCLING, dtype=str, keep_default_na=False)
    df.loc[5, "period"] = "Summer 2019"
    src = tmp_path / "odd.csv"
    df.to_csv(src, index=False)
    res = import_history(connect(tmp_path / "s.sqlite"), src, trafford)
    assert res.status == "refused" and "row 7 ('Summer 2019') cannot be dated" in res.message


def test_the_shipped_groups_have_members_and_sources(config: Config) -> None:
    groups = {g.id: g for g in config.organisation.comparator_groups}
    counties = groups["county_councils"]
    assert len(counties.members or []) == 21 and "E10000018" in counties.members and counties.members_source
    assert groups["cipfa_nn"].members == [] and "could not be found" in groups["cipfa_nn"].members_note
