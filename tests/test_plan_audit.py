"""The plan files as audited against the seed documents (issue 16): each class of error found has a test.

The seeds are copied under tests/data/seeds (000 approved table, 002 cabinet report, 003 consultation draft,
001/004 the 2018-22 plan), so the tests never read outside the repository.
"""

from __future__ import annotations

import csv
import itertools
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
    for mixed in ("P18-WO3-04", "P18-GC6-01"):
        assert ind18[mixed].polarity == "data_only" and not ind18[mixed].holds, mixed
    # ... unless it records one part of them (`holds`), which then takes that part's direction
    for held, words, way in (("P18-WO1-01", "smoking", "lower_better"), ("P18-SE1-01", "Level 3", "higher_better"),
                             ("P18-WO3-01", "healthy life expectancy", "higher_better")):
        assert words in (ind18[held].holds or "") and ind18[held].polarity == way, held


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
    assert "source: '003 s6.1 para 1'" in text  # GC1-01's baselines: stated, with their quarters
    f.write_text(text.replace("source: '003 s6.1 para 1'", "source: 'the internet'", 1))
    assert main(["--config", str(config_copy), "plan", "check"]) == 1
    err = capsys.readouterr().err
    assert "GC1-01 baseline" in err and "does not name a seed file" in err and "2022-26.yaml:" in err


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
    ("SW3-10", "context", "2021/22", "003", r"PM2.5 is the (\d)rd leading cause of preventable deaths"),
    ("SW3-09", "context", "2021/22", "003", r"severe mental illness is (\d) to [\d.]+ times higher"),
    ("SW3-09", "context", "2021/22", "003", r"severe mental illness is \d to ([\d.]+) times higher"),
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


# --- the second audit (issue 16, findings A-F) ---------------------------------------------------------------------

def test_2018_22_polarity_follows_the_file_rule(p18: Plan) -> None:
    ind = indicators(p18)
    assert ind["P18-SE1-04"].polarity == "data_only"  # employment up / unemployment down
    assert ind["P18-WO4-06"].polarity == "lower_better"  # destinations / NEETs: it holds the NEET share
    for success in ("P18-WO1-03", "P18-WO1-11", "P18-KS3-07", "P18-GC3-07", "P18-KS3-06", "P18-WO1-09"):
        assert ind[success].polarity == "higher_better", success
    marac = ind["P18-KS4-05"]  # SafeLives expects 28-40% of MARAC cases to be repeats
    assert marac.polarity == "within_range" and marac.range and (marac.range.low, marac.range.high) == (28, 40)
    assert ind["P18-CEN4-01"].polarity == "lower_better"  # a rank: 1 is the most productive
    chlamydia = ind["P18-WO1-09"]  # PHOF: detections per 100,000 aged 15-24
    assert chlamydia.unit == "rate_per_100000" and chlamydia.plausible and chlamydia.plausible.low >= 100


def test_variances_are_rated_within_a_range_around_zero(p22: Plan, p18: Plan) -> None:
    for plan in (p22, p18):
        for i in indicators(plan).values():
            if re.search(r"\bvariance\b", i.name, re.I):
                assert i.polarity == "within_range" and i.range and i.range.low <= 0 <= i.range.high, i.id


def test_statutory_returns_flagged_in_2018_22_by_class(p18: Plan) -> None:
    ind = indicators(p18)
    returns = {  # PHOF, ASCOF, SSDA903 and DfE returns (the file's own rule; 2022-26 marks their equivalents)
        "PHOF": ("P18-WO1-01", "P18-WO1-06", "P18-WO1-08", "P18-WO1-09", "P18-WO1-12", "P18-WO3-01", "P18-WO3-10",
                 "P18-WO3-11", "P18-WO3-12", "P18-WO3-14", "P18-WO3-15", "P18-WO5-08"),
        "ASCOF": ("P18-WO5-06",),
        "SSDA903": ("P18-KS1-08", "P18-KS2-01", "P18-KS2-07", "P18-KS3-08"),
        "DfE": ("P18-WO2-01", "P18-WO4-01", "P18-WO1-04", "P18-WO1-05", "P18-WO4-04"),
    }
    for group, ids in returns.items():
        for sid in ids:
            assert ind[sid].statutory, (group, sid)
    for i in ind.values():
        if re.search(r"conceptions|infant mortality|chlamydia|excess winter|delayed transfers|missing from care"
                     r"|adoption|looked after children number", i.name, re.I):
            assert i.statutory, i.id


def test_levels_fit_the_frequency_in_2018_22(p18: Plan, p22: Plan) -> None:
    ind, ind22 = indicators(p18), indicators(p22)
    pairs = [("P18-KS4-08", "SW1-03"), ("P18-GC4-03", "GC4-01")]  # the same measure in both plans
    for old, new in pairs:
        a, b = ind[old], ind22[new]
        if a.frequency == b.frequency:
            assert a.typical is not None and b.typical is not None and a.typical <= 2 * b.typical, (old, new)
    assert ind["P18-WO5-07"].frequency != "quarterly" or (ind["P18-WO5-07"].typical or 0) <= 30000
    assert ind["P18-KS1-02"].frequency == "annual" or (ind["P18-KS1-02"].typical or 0) <= 100
    assert (ind["P18-SE3-02"].typical or 0) < 600  # enterprises per 10,000 of all residents, not working-age
    hle = ind["P18-WO3-01"]  # it holds healthy life expectancy (about 63 years), so its range is that one's
    assert hle.plausible and hle.plausible.low <= 60 <= 66 <= hle.plausible.high and "healthy" in (hle.holds or "")
    a8 = ind["P18-WO4-02"]  # it holds Attainment 8 (about 45-50), not Progress 8 (about 0)
    assert a8.plausible and a8.plausible.low <= 40 and a8.plausible.high >= 55 and "Attainment 8" in (a8.holds or "")


def test_internal_measures_have_no_comparator_in_2018_22(p18: Plan) -> None:
    ind = indicators(p18)
    for iid in ("P18-CEN7-04", "P18-CEN7-05", "P18-CEN7-07", "P18-GC3-05", "P18-GC5-03", "P18-GC5-04"):
        assert ind[iid].comparator == "none", iid
    assert ind["P18-CEN6-02"].department == "ET"  # the Council's own carbon


def test_2018_22_records_no_approval_no_seed_gives(p18: Plan) -> None:
    assert p18.approved is None
    assert "15th May 2019, Leicestershire County Council declared a climate emergency" in flat(seed("003"))
    assert "declaration of a climate emergency" in flat(seed("001"))  # so the revised edition is later


def test_2018_22_background_figures_are_context(p18: Plan) -> None:
    ind = indicators(p18)
    assert {c.value for c in ind["P18-GC1-01"].context} == {95, 97}
    assert 117900 in {c.value for c in ind["P18-AH1-04"].context}
    assert 66 in {c.value for c in ind["P18-CEN6-01"].context}
    background = flat(seed("004"))
    assert "between 95-97% of people" in background and "117,900 homes" in background and "£66m" in background


def test_roles_mark_partners_only_where_others_deliver(p22: Plan) -> None:
    com = {c.id: c for _, _, c in p22.commitments()}
    for cid in ("IO3.C03", "IO4.C05", "SW1.C09", "SW2.C05", "SW2.C10", "SW3.C02", "SCPD.C12"):
        assert com[cid].role == "lead", cid  # the Council's own delivery
    for c in com.values():
        t = c.text.lower()
        own = re.match(r"(we will deliver|through our) ", t) or "jointly with departments" in t
        if own and not re.search(r"work (closely )?with (all )?partners", t):
            assert c.role == "lead", c.id


def test_leads_agree_across_near_identical_commitments(p22: Plan) -> None:
    com = {c.id: c for _, _, c in p22.commitments()}
    ind = indicators(p22)
    assert com["CG4.C07"].lead == com["SETI2.C17"].lead  # low-carbon developments, once each under two outcomes
    assert com["SETI2.C10"].lead == ind["SETI2-03"].department  # digital connectivity and its broadband measure
    assert com["IO3.C02"].lead != "CFS"  # Citizens Advice and hardship support is no children's service
    assert com["GC3.C04"].lead == "ET"  # climate resilience: the environment service


def test_indicators_sit_with_the_aim_their_commitment_serves(p22: Plan) -> None:
    com = {c.id: c for _, _, c in p22.commitments()}
    ind = indicators(p22)
    for iid, cid in (("IO1-01", "IO1.C09"), ("SCPD-01", "SCPD.C10"), ("IO3-02", "IO3.C05")):
        assert ind[iid].aim == com[cid].aim, (iid, cid)


def test_actions_the_approved_plan_added_are_commitments(p22: Plan) -> None:
    texts = {c.id: c for _, _, c in p22.commitments()}
    report = flat(seed("002"))
    added = {"accessible through multiple channels": "SCPD", "learn how to use digital technology": "SCPD",
             "through the Environment Group to coordinate environmental programmes": "CG"}
    for phrase, prefix in added.items():
        assert phrase in report, phrase
        hits = [c for c in texts.values() if phrase in c.text]
        assert len(hits) == 1 and hits[0].id.startswith(prefix), phrase
    assert next(c for c in texts.values() if "Environment Group" in c.text).role == "partner"


def test_refs_are_the_approved_numbering(p22: Plan) -> None:
    subs = {s.id: s for _, s in p22.sub_outcomes()}
    report = flat(seed("002"))
    assert "sub-outcome around infrastructure (7.2)" in report and "Sub-section 9.2 of the Plan (the Customer" in report
    assert (subs["SETI2"].ref, subs["SCPD"].ref, subs["GC2"].ref, subs["IO4"].ref) == ("7.2", "9.2", "5.2", "6.4")
    assert subs["CG1"].ref == "4.1" and subs["SW4"].ref == "8.4" and subs["MTFS"].ref == "9.1"


def _paragraphs(section: str) -> list[str]:
    """The narrative paragraphs of a draft section (003), before 'What will success look like?'."""
    text = seed("003")
    start = re.search(rf"^{re.escape(section)}\s+\S", text, re.M)
    assert start, section
    body = text[start.end():].split("What will success look like?")[0]
    paras: list[str] = []
    for chunk in re.split(r"\n\s*\n", body)[1:]:  # the first chunk is the rest of the heading
        if paras and re.match(r"\s[a-z]", chunk):  # a paragraph carried over a page break
            paras[-1] += " " + chunk
        elif chunk.strip():
            paras.append(chunk)
    return [flat(p) for p in paras]


def test_infrastructure_figures_cite_their_paragraph(p22: Plan) -> None:
    paras = _paragraphs("8.2")
    assert paras[0].startswith("We need our infrastructure")
    for iid in ("SETI2-05", "SETI2-06"):
        for v in indicators(p22)[iid].context:
            m = re.search(r"003 s8\.2 para (\d)", v.source or "")
            if m:
                shown = f"{v.value:,.0f}" if v.value >= 1000 else f"{v.value:g}"
                assert shown in paras[int(m.group(1)) - 1], (iid, v.value, v.source)


def test_a_value_whose_period_is_our_reading_is_not_stated(p22: Plan) -> None:
    for _, _, i in p22.indicators():
        for v in (*i.baselines, *i.targets, *i.context):
            if re.search(r"no period|read as|is assumed|no date|states no financial year", v.note or ""):
                assert v.basis != "stated", (i.id, v.value)


def test_figures_sit_on_the_measure_they_describe(p22: Plan) -> None:
    ind = indicators(p22)
    assert not ind["MTFS-03"].targets and not ind["SCPF-01"].targets  # no plan target: business plans set them
    assert 33.3 not in {c.value for c in ind["SW3-05"].context}  # overweight or obese is not obesity
    assert 67 not in {c.value for c in ind["SCPC-04"].context}  # a 2008/09-based cut is not on the 2016/17 base
    assert 67 in {c.value for c in ind["SCPC-01"].context}
    net = ind["SCPC-01"].targets[0]
    assert net.value == 0 and "net" in (net.note or "").lower()
    assert 0 in {c.value for c in ind["CG4-02"].context if c.period == "2045"}  # Leicestershire net zero by 2045


def test_mixed_and_one_way_measures_in_2018_22_after_the_second_audit(p18: Plan) -> None:
    ind = indicators(p18)
    # Held in one unit, so one direction: GVA per head in pounds, the share of LCC sites' waste recycled.
    assert (ind["P18-SE3-04"].unit, ind["P18-SE3-04"].polarity) == ("gbp", "higher_better")
    assert (ind["P18-CEN7-04"].unit, ind["P18-CEN7-04"].polarity) == ("percent", "higher_better")
    for one_way in ("P18-KS1-06", "P18-GC5-03", "P18-GC5-04", "P18-KS3-04", "P18-KS3-05"):
        assert ind[one_way].polarity == "higher_better", one_way
    assert ind["P18-CEN1-02"].unit == "count"  # complaints are counted, not scored
    employment = ind["P18-SE1-04"].plausible  # the name covers the employment rate (about 78%) too
    assert employment is not None and employment.high >= 80
    own_co2 = ind["P18-CEN7-01"]  # 003 s13.3: 11,663 tCO2e in 2019/20, from 35,778 in 2008/09
    assert {(c.period, c.value) for c in own_co2.context} == {("2019/20", 11663), ("2008/09", 35778)}
    assert own_co2.typical is not None and own_co2.typical <= 11663 * 1.05
    assert "11, 663 tCO2e" in seed("003") and "35, 778 tCO2e" in seed("003")


def test_every_rating_band_says_where_it_comes_from(p22: Plan, p18: Plan) -> None:
    """No seed states a within-range band, so each says it is ours (or whose guidance) instead of passing as the plan's."""
    bands = [(i.id, i.range) for plan in (p22, p18) for _, _, i in plan.indicators() if i.range is not None]
    assert len(bands) >= 6
    for ind_id, band in bands:
        assert band.note and ("no seed" in band.note or "not a seed" in band.note), ind_id


def test_sample_series_move_like_real_ones(p22: Plan) -> None:
    """A board member stops believing a chart that jumps 15% between quarters or shows a coverage falling."""
    from plan_reports.samples import simulated_target, simulated_value

    start = Period.parse(p22.starts).quarters()[0]
    quarters = [q for y in ("2022/23", "2023/24", "2024/25", "2025/26") for q in Period.parse(y).quarters()]
    for _, _, i in p22.indicators():
        assert i.plausible is not None
        width = i.plausible.high - i.plausible.low
        for seed_ in (1, 7):
            values = [simulated_value(i, q, seed_, start) for q in quarters]
            for a, b in itertools.pairwise(values):
                assert abs(b - a) <= max(0.08 * abs(a), 0.08 * width, 10 ** -i.decimals), (i.id, seed_, a, b)
            if i.cumulative:
                assert values == sorted(values), (i.id, values)
            for fy in (2023, 2024, 2025):
                t = simulated_target(i, Period(fy, "Y", 1).quarters()[0], seed_, start)
                if t is None or i.targets:
                    continue
                level = simulated_value(i, Period(fy, "Y", 1).quarters()[0].shift(-1), seed_, start)  # as the year began
                assert abs(t - level) <= 0.06 * abs(level) + 10 ** -i.decimals, (i.id, fy, t, level)
                if i.polarity != "data_only" and i.unit not in ("count", "gbp"):  # set as a step better, not the level
                    assert t != level or i.plausible.high - level < 10 ** -i.decimals * 4, (i.id, fy, t, level)
                if i.unit == "count" and t >= 1000:
                    assert t == float(f"{t:.3g}"), (i.id, t)  # set as a round figure


def test_flow_counts_reported_quarterly_are_rolling_annual_totals(p22: Plan) -> None:
    """A quarterly count of things done (visits, KSIs) is a rolling 12-month total, so the year's figure is a year's."""
    for _, _, i in p22.indicators():
        if i.unit == "count" and i.frequency == "quarterly" and not i.cumulative and i.polarity != "data_only":
            stocks = ("Active Community Response Plans", "Children in elective home education")
            assert "rolling 12 months" in i.name or i.name in stocks, i.id
    ksi = indicators(p22)["SW1-03"]  # Leicestershire's killed or seriously injured: a few hundred a year
    assert ksi.typical is not None and 200 <= ksi.typical <= 500


# --- fourth re-read (issue 16) -------------------------------------------------------------------------------------

def test_commitments_follow_the_approved_tables_grouping(p22: Plan) -> None:
    """000 groups a row's commitments in one <p> per aim, in the aims' order: procurement sits with the businesses aim."""
    row = next(line for line in seed("000").splitlines() if line.startswith("The economy and infrastructure are low carbon"))
    groups = re.findall(r"<p>(.*?)</p>", row)
    assert len(groups) == 2 and "procurement" in groups[0] and "carbon sequestration" in groups[1]
    com = {c.id: c for _, _, c in p22.commitments()}
    assert "procurement" in com["CG4.C02"].text and com["CG4.C02"].aim == "CG4.A1"
    assert "sequestration" in seed("003") and com["CG4.C01"].aim == "CG4.A2"  # efficient assets: the second group


def test_aims_set_against_the_national_average_are_benchmarked_nationally(p22: Plan) -> None:
    national = [a for _, s in p22.sub_outcomes() for a in s.aims if "national average" in a.text]
    assert {a.id for a in national} >= {"IO4.A1", "IO4.A2"}
    for a in national:
        rated = [i for _, _, i in p22.indicators() if i.aim == a.id and i.polarity != "data_only"]
        assert rated, a.id
        for i in rated:
            assert i.comparator == "england", (a.id, i.id, i.comparator)


MULTI_PART = {  # measure -> (unit held, what `holds` must name, the plausible range's upper bound at most)
    "P18-KS1-01": ("percent", "assessed", 100),
    "P18-KS1-05": ("percent", "second or later plan", 40),
    "P18-WO4-06": ("percent", "not in education", 20),
    "P18-WO5-16": ("percent", "psychosis", 100),
    "P18-WO2-03": ("percent", "persistent absence", 40),
    "P18-SE2-08": ("rate_per_1000", "charging devices", 5),
    "P18-CEN3-01": ("count", "headcount", 20000),
    "P18-AH1-02": ("count", "housing units", 60000),
    "P18-KS4-03": ("rate_per_1000", "12 months", 60),
}


@pytest.mark.parametrize("ind_id", sorted(MULTI_PART))
def test_a_measure_naming_several_things_says_which_one_it_holds(p18: Plan, ind_id: str) -> None:
    i = indicators(p18)[ind_id]
    unit, words, high = MULTI_PART[ind_id]
    assert i.unit == unit and i.holds and words in i.holds, (i.unit, i.holds)
    assert i.plausible is not None and i.plausible.high <= high and i.typical is not None
    assert i.plausible.low <= i.typical <= i.plausible.high


def test_quarterly_rates_are_rolling_years_and_say_so(p22: Plan, p18: Plan) -> None:
    """A quarterly crime or admissions rate set at a year's level must say it is a rolling year, or a lead enters a
    quarter's figure (a quarter of the level) and it is questioned as implausible."""
    stocks = {"CG1-03", "IO3-02", "SW2-03"}  # a count at a date (devices, children looked after), not a flow
    for plan in (p22, p18):
        for _, _, i in plan.indicators():
            if i.frequency == "quarterly" and i.unit.startswith("rate_per") and i.id not in stocks:
                assert "rolling 12 months" in i.name or (i.holds and "12 months" in i.holds), i.id


def test_the_tracker_tells_the_lead_which_figure_to_enter(config: Config, tmp_path: Path) -> None:
    import openpyxl

    from plan_reports.trackers import write_trackers

    (path,) = write_trackers(config, Period.parse("2021/22-Q2"), tmp_path, ["CE"])
    ws = openpyxl.load_workbook(path)["Indicators"]
    names = {r[0]: r[1] for r in ws.iter_rows(min_row=5, max_col=2, values_only=True) if r[0]}
    ks = indicators(config.plans["2018-22"])["P18-KS4-03"]
    assert names["P18-KS4-03"] == f"{ks.name} (enter: {ks.holds})"
    assert names["P18-SE1-05"] == "Take up of apprenticeships"  # a single measure keeps its own name


def test_ofsted_grades_and_one_way_measures_are_rated(p18: Plan) -> None:
    ind = indicators(p18)
    for grade in ("P18-KS1-07", "P18-KS2-02"):  # 1 Outstanding ... 4 Inadequate
        assert (ind[grade].polarity, ind[grade].decimals) == ("lower_better", 0), grade
        assert ind[grade].plausible is not None and (ind[grade].plausible.low, ind[grade].plausible.high) == (1, 4)
    for up in ("P18-SE1-07", "P18-SE2-08", "P18-AH2-02", "P18-GC4-02", "P18-GC6-09"):
        assert ind[up].polarity == "higher_better", up
    assert ind["P18-GC3-07"].cumulative  # Neighbourhood Plans adopted: a running total
    assert (ind["P18-CEN4-01"].unit, ind["P18-CEN4-01"].decimals) == ("rank", 0)


def test_leads_and_roles_after_the_fourth_re_read(p22: Plan) -> None:
    com = {c.id: c for _, _, c in p22.commitments()}
    ind = indicators(p22)
    assert com["CG1.C03"].lead == "PH" and ind["CG1-02"].department == "PH"  # Warm Homes: Public Health's service
    assert ind["SW4-02"].department == "PH"  # First Contact Plus: Public Health's service
    assert com["SW4.C07"].role == "partner"  # "co-produce ... with our partners"
    assert com["SCPD.C03"].role == "lead"  # the Council engages the groups and does the work
    assert "children in our care to transition to adulthood" in flat(seed("000"))
    assert com["IO4.C08"].lead == "CFS"  # 000's words for it: children in care are Children and Family Services'


def test_a_by_year_date_is_our_reading(p22: Plan) -> None:
    """'Net zero by 2045', 'by 2043': the seed names a deadline, not the period a figure covers."""
    draft = flat(seed("003"))
    for ind_id, period in (("CG4-02", "2045"), ("SETI2-06", "2043")):
        assert f"by {period}" in draft
        (v,) = [v for v in indicators(p22)[ind_id].context if v.period == period]
        assert v.basis == "assumed" and f"by {period}" in (v.note or ""), ind_id


def test_the_lowest_funded_county_is_typically_below_the_county_range(p22: Plan) -> None:
    csp = indicators(p22)["MTFS-09"]  # "the lowest funded County Council" (003 foreword)
    assert "lowest funded" in flat(seed("003"))
    assert csp.typical is not None and csp.plausible is not None and csp.typical < (csp.plausible.low + csp.plausible.high) / 2
