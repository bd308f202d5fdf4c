from __future__ import annotations

import json
import subprocess
import sys

from plan_reports.cli import main
from plan_reports.config import Config

APPROVED_TITLES = [
    "Clean and Green",
    "Great Communities",
    "Improved Opportunities",
    "Strong Economy, Transport and Infrastructure",
    "Safe and Well",
]


def show_json(capsys, *args: str) -> dict:
    assert main(["plan", "show", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_plan_2022_26_has_approved_structure(capsys) -> None:
    tree = show_json(capsys, "2022-26")
    assert [o["title"] for o in tree["outcomes"]] == APPROVED_TITLES
    subs = [s for o in tree["outcomes"] for s in o["sub_outcomes"]]
    assert len(subs) == 21
    assert not any("homes" in s["title"].lower() for s in subs), "housing is folded into infrastructure (para 40)"
    infra = next(s for s in subs if s["title"].startswith("Leicestershire has the infrastructure"))
    assert any("187,096" in a["text"] for a in infra["aims"])
    for s in subs:
        assert set(s) >= {"id", "title", "aims", "commitments", "indicators"}
        assert s["aims"] and s["commitments"] and s["indicators"], s["id"]
        aim_ids = {a["id"] for a in s["aims"]}
        for i in s["indicators"]:
            assert i["polarity"] and i["unit"] and i["aim"] in aim_ids
        for c in s["commitments"]:
            assert c["aim"] in aim_ids and c["lead"] and c["role"] in {"lead", "partner"}
    assert len({s["id"] for s in subs}) == 21


def test_every_aim_has_an_indicator(config: Config) -> None:
    plan = config.plans["2022-26"]
    measured = {i.aim for _, _, i in plan.indicators()}
    aims = {a.id for _, s in plan.sub_outcomes() for a in s.aims}
    assert aims == measured


def test_enabling_section_has_mtfs_and_four_programmes(capsys) -> None:
    en = show_json(capsys, "2022-26")["enabling"]
    titles = [s["title"] for s in en["sub_outcomes"]]
    # the approved plan's four pillars (000): Finance (the MTFS with the Sustainable Finances Programme), Customer &
    # Digital, Carbon Reduction, Ways of Working
    assert titles[0] == "Finance: Medium Term Financial Strategy and Sustainable Finances Programme"
    assert {"Customer & Digital Programme", "Carbon Reduction Programme", "Ways of Working Programme"} <= set(titles)
    mtfs = en["sub_outcomes"][0]
    assert len(mtfs["aims"]) == 4 and mtfs["commitments"] and mtfs["indicators"]


def test_baselines_and_targets_from_the_plan_text(config: Config) -> None:
    ind = {i.id: i for _, _, i in config.plans["2022-26"].indicators()}
    assert (ind["GC1-01"].baselines[-1].value, ind["GC1-01"].baselines[-1].period) == (92, "2021/22-Q1")
    assert ind["GC3-01"].baselines[-1].value == 53
    assert (ind["GC2-03"].baselines[-1].value, ind["GC2-03"].baselines[-1].period) == (38, "2020/21")
    assert ind["IO4-01"].baselines[-1].value == 2.0 and ind["IO4-01"].context[0].value == 2.7  # England average
    assert (ind["SW1-02"].baselines[-1].value, ind["SW1-02"].baselines[-1].period) == (79, "2020/21")
    carbon = ind["SCPC-01"]
    assert (carbon.baselines[-1].value, carbon.baselines[-1].period, carbon.unit) == (11663, "2019/20", "tco2e")
    assert {t.period: t.value for t in carbon.targets} == {"2029/30": 0}
    assert {t.period: t.value for t in ind["SCPC-04"].targets} == {"2024/25": 65}  # approved plan, not the draft's 64


def test_every_department_owns_indicators_and_leads_commitments(config: Config) -> None:
    plan = config.plans["2022-26"]
    depts = {d.id for d in config.organisation.departments}
    assert {i.department for _, _, i in plan.indicators()} == depts
    assert {c.lead for _, _, c in plan.commitments()} == depts
    assert len({o.board.id for o in plan.outcomes}) == 5


def test_2018_22_plan_loads_with_measures_on_supporting_outcomes(capsys) -> None:
    tree = show_json(capsys, "2018-22")
    assert len(tree["outcomes"]) == 5
    subs = [s for o in tree["outcomes"] for s in o["sub_outcomes"]]
    assert len(subs) == 22
    assert all(s["indicators"] for s in subs)
    waste = next(s for s in subs if s["title"].startswith("People act to protect and enhance"))
    assert any("landfill" in i["name"] for i in waste["indicators"])
    assert tree["enabling"]["title"] == "Corporate Enablers"


def test_plan_check_exit_codes(config_copy, capsys) -> None:
    assert main(["--config", str(config_copy), "plan", "check"]) == 0
    f = config_copy / "plans" / "2022-26.yaml"
    f.write_text(f.read_text().replace("polarity: lower_better", "polarity: downwards", 1))
    assert main(["--config", str(config_copy), "plan", "check"]) == 1
    assert "downwards" in capsys.readouterr().err


def test_unknown_plan_is_a_problem_not_a_traceback(capsys) -> None:
    assert main(["plan", "show", "2030-34"]) == 1
    assert "no plan '2030-34'" in capsys.readouterr().err


def test_version_starts_without_heavy_imports() -> None:
    code = "import sys; from plan_reports.cli import main\ntry:\n main(['--version'])\nexcept SystemExit: pass\n" \
           "print(sorted(m for m in ('pydantic','yaml','pandas','openpyxl','rich') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
