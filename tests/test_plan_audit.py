"""The plan files as audited against the seed documents (issue 16): each class of error found has a test.

The seeds are copied under tests/data/seeds (000 approved table, 002 cabinet report, 003 consultation draft,
001/004 the 2018-22 plan), so the tests never read outside the repository.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from plan_reports.cli import main
from plan_reports.config import Config
from plan_reports.models import Indicator, Plan
from plan_reports.periods import Period
from plan_reports.plan import audit_items

SEEDS = Path(__file__).parent / "data" / "seeds"


def seed(prefix: str) -> str:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("’", "'").replace("‘", "'"))


@pytest.fixture(scope="module")
def p22(config: Config) -> Plan:
    return config.plans["2022-26"]


@pytest.fixture(scope="module")
def p18(config: Config) -> Plan:
    return config.plans["2018-22"]


def indicators(plan: Plan) -> dict[str, Indicator]:
    return {i.id: i for _, _, i in plan.indicators()}


# --- polarity of gap and rate measures ---------------------------------------------------------------------------

def test_gaps_shrink_and_harm_rates_fall_in_both_plans(p22: Plan, p18: Plan) -> None:
    for plan in (p22, p18):
        for i in indicators(plan).values():
            if re.search(r"^gap\b|\bgap (in|between)\b|attainment gaps", i.name, re.I):
                assert (i.polarity, i.unit) == ("lower_better", "percentage_points"), i.id
            if re.search(r"free from|diversion from landfill|still at home", i.name, re.I):
                assert i.polarity == "higher_better", i.id
    ind18, ind22 = indicators(p18), indicators(p22)
    assert (ind18["P18-SE1-11"].polarity, ind18["P18-SE1-11"].unit) == ("lower_better", "percentage_points")
    assert ind18["P18-WO1-06"].polarity == "higher_better"  # children free from dental decay
    assert ind18["P18-GC6-03"].polarity == "higher_better"  # diversion from landfill
    assert ind18["P18-SE3-04"].polarity == "higher_better"  # GVA per head, in pounds
    for harm in ("P18-WO5-02", "P18-WO5-03", "P18-KS4-06", "P18-WO3-02", "P18-WO3-10"):
        assert (ind18[harm].polarity, ind18[harm].unit.startswith("rate_per")) == ("lower_better", True), harm
    for harm in ("SW1-04", "SW4-05", "IO3-02", "SW1-01", "SW3-02", "SW3-08", "IO1-04"):
        assert ind22[harm].polarity == "lower_better", harm
    # measures whose names mix directions are data only, never rated one way
    for mixed in ("P18-SE1-01", "P18-WO1-01", "P18-WO3-01", "P18-WO3-04", "P18-GC6-01"):
        assert ind18[mixed].polarity == "data_only", mixed


def test_units_fit_the_measure_in_2018_22(p18: Plan) -> None:
    ind = indicators(p18)
    for i in ind.values():
        if re.match(r"(% |overall satisfaction|satisfaction)", i.name, re.I) and "rate" not in i.name.lower():
            assert i.unit == "percent", i.id
    assert ind["P18-SE2-06"].unit != "tco2e" and ind["P18-AH3-03"].unit != "tco2e"  # NOx is no CO2 tonnage
    assert ind["P18-GC6-02"].unit == "kg" and ind["P18-AH1-07"].unit == "ratio"


def test_statutory_returns_flagged_in_2018_22(p18: Plan) -> None:
    ind = indicators(p18)
    for sid in ("P18-SE1-03", "P18-SE1-10", "P18-WO5-02", "P18-WO5-03", "P18-WO5-05", "P18-AH2-03", "P18-KS2-06",
                "P18-KS4-08", "P18-GC6-02"):
        assert ind[sid].statutory, sid
    assert not ind["P18-CEN3-05"].statutory  # a staff survey is no statutory return


# --- leads and owners --------------------------------------------------------------------------------------------

def test_commitment_leads_are_the_departments_whose_service_it_is(p22: Plan) -> None:
    com = {c.id: c for _, _, c in p22.commitments()}
    assert com["CG1.C02"].lead == "ET"  # environmental learning: Environment and Transport
    assert com["CG3.C03"].lead == "ET"  # trade waste: the waste disposal authority
    assert com["SW4.C10"].lead == "AC"  # direct payments: adult social care
    for c in com.values():
        t = c.text.lower()
        if re.search(r"household waste|trade waste|waste hierarchy|waste disposal", t):
            assert c.lead == "ET", c.id
        if re.search(r"direct payments|adult social care|identify carers|for carers|involve carers|carer-friendly"
                     r"|ensure carers|assist carers", t):
            assert c.lead == "AC", c.id
        if "trading standards" in t:
            assert c.lead == "CE", c.id
        if "corporate asset investment fund" in t:
            assert c.lead == "CR", c.id
        if re.search(r"work (closely )?with (all )?partners", t):
            assert c.role == "partner", c.id  # 'work with partners' marks a contributing role (002 para 38)


def test_2018_22_blocks_owned_by_the_right_department(p18: Plan) -> None:
    subs = {s.id: s for _, s in p18.sub_outcomes()}
    assert {i.department for i in subs["P18-SE3"].indicators if i.id != "P18-SE3-07"} == {"CE"}  # the economy
    for sid in ("P18-AH1", "P18-AH2", "P18-AH3", "P18-AH4"):
        assert "PH" not in {i.department for i in subs[sid].indicators}, sid  # housing is not Public Health
    assert {i.department for i in subs["P18-AH1"].indicators} == {"CE"}
    assert {i.department for i in subs["P18-CEN7"].indicators} == {"ET"}  # the Council's own carbon, as in 2022-26
    ind = indicators(p18)
    for hid in ("P18-WO1-06", "P18-WO1-07", "P18-WO1-08", "P18-WO1-12", "P18-WO3-03", "P18-WO3-04", "P18-WO3-06"):
        assert ind[hid].department == "PH", hid
    assert ind["P18-KS4-06"].department == "CFS" and ind["P18-KS1-04"].department == "CFS"


# --- aims: the approved words, each with commitments and indicators ---------------------------------------------

def test_every_aim_is_the_approved_wording(p22: Plan) -> None:
    approved = flat(seed("000"))
    for _, s in p22.sub_outcomes():
        for a in s.aims:
            assert flat(a.text) in approved, a.id
    carbon = p22.aim_text("SCPC.A1")
    assert "65%" in carbon and "64%" not in carbon


def test_every_aim_has_commitments_and_indicators(p22: Plan) -> None:
    for _, s in p22.sub_outcomes():
        for a in s.aims:
            assert any(c.aim == a.id for c in s.commitments), f"{a.id} has no commitments"
            assert any(i.aim == a.id for i in s.indicators), f"{a.id} has no indicators"


def test_commitments_serve_the_aim_their_draft_sub_heading_names(p22: Plan) -> None:
    com = {c.id: c for _, _, c in p22.commitments()}
    draft = flat(seed("003"))
    heading = "Increase in the proportion of children achieving a good level of development at foundation stage"
    after = draft.split(heading + " • We will focus on narrowing")[1].split("7.2 Every child")[0]
    for cid in ("IO1.C07", "IO1.C08", "IO1.C09", "IO1.C10", "IO1.C11", "IO1.C12"):
        assert com[cid].aim == "IO1.A2", cid
        assert flat(com[cid].text)[12:60] in after or cid == "IO1.C07", cid
    assert com["IO1.C06"].aim == "IO1.A1"


def test_commitment_text_is_free_of_pdf_artefacts(p22: Plan) -> None:
    headings = [flat(a.text) for _, s in p22.sub_outcomes() for a in s.aims]
    for _, _, c in p22.commitments():
        assert not re.search(r"\w- \w", c.text), (c.id, c.text)  # "start- ups", "Wi- Fi"
        assert "%%" not in c.text and "  " not in c.text, c.id
        body = flat(c.text)
        assert not any(body.endswith(h) or f" {h}" in body[20:] for h in headings if len(h) > 30), c.id
        assert "Increase in the proportion of children" not in c.text, c.id


# --- provenance --------------------------------------------------------------------------------------------------

def test_every_figure_has_a_source_and_plan_check_passes(p22: Plan, p18: Plan, capsys) -> None:
    assert list(audit_items(p22)) == [] and list(audit_items(p18)) == []
    for _, _, i in p22.indicators():
        for v in (*i.baselines, *i.targets, *i.context):
            assert v.source and re.search(r"\b00[0-4]\b", v.source), i.id
            if v.basis != "stated":
                assert v.note, i.id
    assert main(["plan", "check"]) == 0


def test_plan_check_fails_on_a_figure_without_a_source(config_copy: Path, capsys) -> None:
    f = config_copy / "plans" / "2022-26.yaml"
    text = f.read_text()
    assert "source: '003 s7.4 para 1'" in text
    f.write_text(text.replace("source: '003 s7.4 para 1'", "source: 'the internet'", 1))
    assert main(["--config", str(config_copy), "plan", "check"]) == 1
    err = capsys.readouterr().err
    assert "IO4-01 baseline" in err and "does not name a seed file" in err and "2022-26.yaml:" in err


def test_plan_show_prints_the_sources(capsys) -> None:
    assert main(["plan", "show", "2022-26"]) == 0
    out = capsys.readouterr().out
    assert "003 s7.4 para 1" in out and "000 Carbon Reduction pillar" in out


def test_no_target_that_no_seed_states(p22: Plan) -> None:
    ind = indicators(p22)
    targets = {(i.id, t.value) for i in ind.values() for t in i.targets}
    assert ("SETI2-06", 6700) not in {(k, v) for k, v in targets}  # 6,700 homes a year: stated nowhere
    assert not ind["IO4-01"].targets and not ind["IO4-03"].targets  # England averages are context, not targets
    assert {c.value for c in ind["IO4-01"].context} == {2.7} and {c.value for c in ind["IO4-03"].context} == {8.9}
    assert not ind["SETI3-01"].targets  # the government's longer-term 3% has no date and is not the plan's
    for i in ind.values():
        for t in i.targets:
            assert t.basis == "stated" or "states no" in (t.note or ""), i.id


# --- stated figures: the seed text and the config agree ----------------------------------------------------------

STATED = [  # (indicator, kind, period, phrase in the seed whose first number is the value)
    ("CG1-01", "baselines", "2021/22", "003", r"only (\d+)% feel informed about what the Council is doing"),
    ("CG4-01", "baselines", "2021/22", "003", r"found that (\d+)% of businesses had taken action to reduce carbon"),
    ("GC1-01", "baselines", "2021/22-Q1", "003", r"vast majority of residents \((\d+)%\) agree"),
    ("GC1-01", "baselines", "2020/21-Q2", "003", r"decrease from (\d+)% in Quarter 2 2020/21"),
    ("GC2-01", "baselines", "2021/22", "003", r"only (\d+)% feel that they can influence Council decisions"),
    ("GC2-03", "baselines", "2019/20", "003", r"from (\d+) in 2019/20 to \d+ in 2020/21"),
    ("GC2-03", "baselines", "2020/21", "003", r"from \d+ in 2019/20 to (\d+) in 2020/21"),
    ("GC2-04", "baselines", "2021/22", "003", r"also (\d+) communities managing their local library"),
    ("GC3-01", "baselines", "2021/22", "003", r"currently (\d+) Community Response Plans"),
    ("GC5-01", "baselines", "2021/22", "003", r"finds that (\d+)% of resident respondents had given unpaid help"),
    ("IO3-04", "baselines", "2021/22", "003", r"to over (\d+) children"),
    ("IO4-01", "baselines", "2020/21", "003", r"Only (\d+)% of children aged 16-17"),
    ("IO4-01", "context", "2020/21", "003", r"below the national average \(([\d.]+)%\)"),
    ("IO4-03", "baselines", "2020/21", "003", r"NEET at ages 16-17 is ([\d.]+)%"),
    ("IO4-03", "context", "2020/21", "003", r"above the national average \(([\d.]+)%\)"),
    ("SETI1-02", "baselines", "2021/22", "003", r"found that (\d+)% of businesses had recruitment difficulties"),
    ("SETI1-03", "baselines", "2019/20-Q4", "003", r"increased from ([\d.]+)% in March 2020"),
    ("SETI1-03", "baselines", "2021/22-Q1", "003", r"to ([\d.]+)% in June 2021"),
    ("SETI3-01", "baselines", "2016", "003", r"equivalent to ([\d.]+)% GVA"),
    ("SW1-02", "baselines", "2019/20", "003", r"after dark, from (\d+)% in 2019/20"),
    ("SW1-02", "baselines", "2020/21", "003", r"to (\d+)% in 2020/21"),
    ("SW1-05", "baselines", "2019/20", "003", r"criminal exploitation has however increased slightly from (\d+)"),
    ("SW1-05", "baselines", "2020/21", "003", r"increased slightly from \d+ in 2019/20 to (\d+) in 2020/21"),
    ("SW2-05", "baselines", "2017/18", "003", r"([\d.]+) per 1,000 population in 2017/18"),
    ("SW2-05", "baselines", "2019/20", "003", r"to ([\d.]+) in 2019/20"),
    ("SW3-02", "baselines", "2019", "003", r"life expectancy is ([\d.]+) years lower for men"),
    ("SW3-08", "baselines", "2019", "003", r"years lower for men and ([\d.]+) years lower for women"),
    ("SW3-04", "baselines", "2018/19", "003", r"physically inactive from ([\d.]+)% in 2018/19"),
    ("SW3-04", "baselines", "2019/20", "003", r"to ([\d.]+)% in 2019/20"),
    ("SCPC-01", "baselines", "2019/20", "003", r"by 67% to ([\d, ]+) tCO2e"),
    ("SCPC-01", "baselines", "2008/09", "003", r"compared to ([\d, ]+) tCO2e 2008/09"),
    ("SCPC-04", "targets", "2024/25", "000", r"with an interim (\d+)% reduction by 2025"),
    ("SETI2-06", "context", "2049/50", "000", r"deliver the ([\d,]+) new dwellings"),
    ("SCPF-01", "context", "2021/22", "003", r"in excess of £(\d+)m"),
]


@pytest.mark.parametrize(("ind_id", "kind", "period", "doc", "phrase"), STATED, ids=[f"{s[0]}-{s[2]}" for s in STATED])
def test_stated_figure_is_recorded_with_the_same_value(p22: Plan, ind_id: str, kind: str, period: str, doc: str,
                                                       phrase: str) -> None:
    m = re.search(phrase, flat(seed(doc)))
    assert m, f"phrase not found in seed {doc}: {phrase}"
    stated = float(re.sub(r"[ ,]", "", m.group(1)))
    recorded = {(v.period, v.value) for v in getattr(indicators(p22)[ind_id], kind)}
    assert (period, stated) in recorded, (ind_id, kind, stated, recorded)


def test_the_draft_carbon_figure_is_superseded(p22: Plan) -> None:
    assert "interim target of 64% reduction" in flat(seed("003"))  # the draft says 64 ...
    assert "interim 65% reduction by 2025" in flat(seed("000"))    # ... the approved plan 65, and 65 wins
    values = {t.value for _, _, i in p22.indicators() for t in i.targets}
    assert 65 in values and 64 not in values


# --- plausible ranges and the sample data drawn from them ---------------------------------------------------------

def test_every_indicator_has_a_plausible_range_and_typical_level(p22: Plan, p18: Plan) -> None:
    for plan in (p22, p18):
        for i in indicators(plan).values():
            assert i.plausible is not None and i.typical is not None, i.id
            assert i.plausible.low <= i.typical <= i.plausible.high, i.id
            if i.unit == "percent" and "excess" not in i.name.lower():  # excess mortality is a % above expected
                assert i.plausible.low >= -100 and i.plausible.high <= 150, i.id
            for v in (*i.baselines, *i.targets):
                assert i.plausible.low <= v.value <= i.plausible.high, (i.id, v.value)
            if i.range is not None:
                assert i.plausible.low <= i.range.low <= i.range.high <= i.plausible.high, i.id
    ind = indicators(p22)
    assert ind["IO1-02"].typical >= 80  # most children get their 2-2.5 year review, not a fifth
    assert ind["SW3-02"].plausible.high <= 20  # a slope index of inequality is years, single figures to teens
    assert ind["CG1-03"].plausible.high <= 300  # EV chargers per 100,000: tens, not hundreds


def test_sample_values_and_targets_stay_within_plausible_ranges(p22: Plan) -> None:
    from plan_reports.samples import simulated_target, simulated_value

    start = Period.parse(p22.starts).quarters()[0]
    quarters = [q for y in ("2022/23", "2023/24", "2024/25", "2025/26") for q in Period.parse(y).quarters()]
    for _, _, i in p22.indicators():
        assert i.plausible is not None
        for seed_ in (1, 7):
            for q in quarters:
                v = simulated_value(i, q, seed_, start)
                assert i.plausible.low <= v <= i.plausible.high, (i.id, str(q), v)
                t = simulated_target(i, q, seed_, start)
                assert t is None or i.plausible.low <= t <= i.plausible.high, (i.id, str(q), t)


def test_sample_comparators_stay_within_plausible_ranges(config: Config, p22: Plan, tmp_path: Path) -> None:
    from plan_reports.samples import write_comparators

    ind = indicators(p22)
    files = write_comparators(config, p22, [Period.parse("2023/24"), Period.parse("2024/25")], tmp_path, seed=1)
    n = 0
    for path in files.values():
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                if row["value"]:
                    p = ind[row["indicator"]].plausible
                    assert p is not None and p.low <= float(row["value"]) <= p.high, row
                    n += 1
    assert n > 100
