"""Each kind of config error names the file, the line and the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from plan_reports.config import ConfigError, ConfigProblem, load_config

PLAN = "plans/2022-26.yaml"


def edit(root: Path, rel: str, old: str, new: str, nth: int = 1) -> int:
    """Replace the nth occurrence of `old`; return the 1-based line it was on."""
    f = root / rel
    text = f.read_text()
    at = -1
    for _ in range(nth):
        at = text.index(old, at + 1)
    f.write_text(text[:at] + new + text[at + len(old):])
    return text.count("\n", 0, at) + 1


def problems(root: Path) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as e:
        load_config(root)
    return e.value.problems


def only(root: Path) -> ConfigProblem:
    found = problems(root)
    assert len(found) == 1, found
    return found[0]


def add_line_after(root: Path, rel: str, anchor: str, new: str) -> int:
    """Insert `new` after the first line containing `anchor`, at its indent; return the new line's number."""
    f = root / rel
    lines = f.read_text().splitlines(keepends=True)
    i = next(k for k, line in enumerate(lines) if anchor in line)
    indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    lines.insert(i + 1, indent + new + "\n")
    f.write_text("".join(lines))
    return i + 2


def test_unknown_key(config_copy: Path) -> None:
    line = add_line_after(config_copy, PLAN, "polarity: higher_better", "polarty: x") - 1
    p = only(config_copy)
    assert p.file.endswith("2022-26.yaml") and p.line == line + 1
    assert p.path == "outcomes[0].sub_outcomes[0].indicators[0].polarty"
    assert "unknown key" in p.message


def delete_line(root: Path, rel: str, anchor: str) -> int:
    f = root / rel
    lines = f.read_text().splitlines(keepends=True)
    i = next(k for k, line in enumerate(lines) if anchor in line)
    del lines[i]
    f.write_text("".join(lines))
    return i + 1


def test_missing_field(config_copy: Path) -> None:
    line = delete_line(config_copy, PLAN, "unit: count")
    p = only(config_copy)
    assert p.path == "outcomes[0].sub_outcomes[0].indicators[1]"
    assert "'unit'" in p.message and "missing" in p.message
    assert p.line == line - 3  # the indicator item starts at its "- id:" line


def test_invalid_polarity(config_copy: Path) -> None:
    line = edit(config_copy, PLAN, "polarity: lower_better", "polarity: down")
    p = only(config_copy)
    assert p.line == line and p.path.endswith(".polarity") and "'down'" in p.message


def test_invalid_unit(config_copy: Path) -> None:
    line = edit(config_copy, PLAN, "unit: percent", "unit: percentage", nth=3)
    p = only(config_copy)
    assert p.line == line and p.path.endswith(".unit") and "'percentage'" in p.message


def test_duplicate_id(config_copy: Path) -> None:
    line = edit(config_copy, PLAN, "id: CG1-02", "id: CG1-01")
    p = only(config_copy)
    assert p.line == line
    assert p.path == "outcomes[0].sub_outcomes[0].indicators[1].id"
    assert "duplicate id 'CG1-01'" in p.message


def test_indicator_owned_by_unknown_department(config_copy: Path) -> None:
    line = edit(config_copy, PLAN, "department: PH", "department: HEALTH")
    p = only(config_copy)
    assert p.line == line and p.path.endswith(".department") and "unknown department 'HEALTH'" in p.message


def test_commitment_pointing_at_unknown_aim(config_copy: Path) -> None:
    line = edit(config_copy, PLAN, "aim: GC2.A2", "aim: GC2.A9")
    p = only(config_copy)
    assert p.line == line
    assert p.path.startswith("outcomes[1].sub_outcomes[1].commitments[") and p.path.endswith(".aim")
    assert "unknown aim 'GC2.A9'" in p.message


def test_id_reused_across_plans(config_copy: Path) -> None:
    line = edit(config_copy, "plans/2018-22.yaml", "id: P18-SE1-01", "id: CG1-01")
    theirs = next(i for i, t in enumerate((config_copy / PLAN).read_text().splitlines(), 1) if t.strip() == "- id: CG1-01")
    p = only(config_copy)  # plans load in name order: 2018-22 claims the id first, 2022-26's use is the clash
    assert p.file.endswith("2022-26.yaml") and p.line == theirs
    assert p.path == "outcomes[0].sub_outcomes[0].indicators[0].id"
    assert "'CG1-01'" in p.message and f"2018-22.yaml:{line}" in p.message


def test_duplicate_yaml_key(config_copy: Path) -> None:
    line = add_line_after(config_copy, "calendar.yaml", "board_meeting_days", "board_meeting_days_after_period_end: 60")
    p = only(config_copy)
    assert p.file.endswith("calendar.yaml") and p.line == line and "duplicate key" in p.message


def test_bad_period_in_a_baseline(config_copy: Path) -> None:
    line = edit(config_copy, PLAN, "period: '2021/22'", "period: 'Q1 2021'")
    p = only(config_copy)
    assert p.line == line and p.path.endswith("baselines[0].period")


def test_all_problems_reported_at_once(config_copy: Path) -> None:
    """Schema problems are all listed together; reference checks follow once the schema is valid."""
    edit(config_copy, PLAN, "polarity: lower_better", "polarity: down")
    edit(config_copy, PLAN, "unit: percent", "unit: pc")
    edit(config_copy, "calendar.yaml", "weekend_dates_move_to: monday", "weekend_dates_move_to: sunday")
    assert sorted(p.path.rsplit(".", 1)[-1] for p in problems(config_copy)) == ["polarity", "unit", "weekend_dates_move_to"]


def test_reference_problems_are_all_listed(config_copy: Path) -> None:
    edit(config_copy, PLAN, "department: PH", "department: HEALTH")
    edit(config_copy, PLAN, "aim: GC2.A2", "aim: GC2.A9")
    assert len(problems(config_copy)) == 2


def test_scoring_rule_for_unknown_indicator(config_copy: Path) -> None:
    line = edit(config_copy, "scoring.yaml", "CG3-01: {type: improvement}", "CG9-99: {type: improvement}")
    p = only(config_copy)
    assert p.file.endswith("scoring.yaml") and p.line == line and p.path == "rag.indicators.CG9-99"


def test_floor_rule_needs_a_floor(config_copy: Path) -> None:
    line = edit(config_copy, "scoring.yaml", "IO2-02: {type: floor, floor: 40}", "IO2-02: {type: floor}")
    p = only(config_copy)
    assert p.line == line and p.path == "rag.indicators.IO2-02" and "floor" in p.message


def test_committee_covering_an_unknown_sub_outcome(config_copy: Path) -> None:
    line = edit(config_copy, "committees.yaml", "sub_outcomes: [SW3]", "sub_outcomes: [SW9]")
    p = only(config_copy)
    assert p.file.endswith("committees.yaml") and p.line == line and p.path == "committees[3].sub_outcomes[0]"
    assert "unknown sub-outcome 'SW9'" in p.message
