"""Papercuts found on a fresh clone (issue 20): each behaviour as a new user meets it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from plan_reports.config import load_config
from plan_reports.periods import Period


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "plan_reports", *args], capture_output=True, text=True, cwd=cwd)


def test_an_office_lock_file_named_on_the_command_line_is_skipped_with_the_reason(tmp_path: Path) -> None:
    lock = tmp_path / "~$Corporate Resources.xlsx"
    lock.write_bytes(b"\x0bJane Smith" + b"\0" * 150)
    proc = _cli("validate", str(lock))
    assert proc.returncode == 2
    assert "~$Corporate Resources.xlsx: skipped: Excel's lock file for Corporate Resources.xlsx" in proc.stderr
    assert "open in Excel" in proc.stderr and "Traceback" not in proc.stderr


def test_plan_check_takes_a_plan_id_or_its_file(config_copy: Path) -> None:
    by_id = _cli("--config", str(config_copy), "plan", "check", "2018-22", "--json")
    by_path = _cli("plan", "check", str(config_copy / "plans" / "2018-22.yaml"), "--config", str(config_copy), "--json")
    assert by_id.returncode == by_path.returncode == 0, by_path.stderr
    assert json.loads(by_id.stdout)["plans"].keys() == json.loads(by_path.stdout)["plans"].keys() == {"2018-22"}
    elsewhere = _cli("plan", "check", "/tmp/not-a-plan.yaml", "--config", str(config_copy))
    assert elsewhere.returncode == 2 and "is not a plan file of the config" in elsewhere.stderr


def test_config_is_accepted_before_or_after_the_command(config_copy: Path, tmp_path: Path) -> None:
    before = _cli("--config", str(config_copy), "plan", "show", "2022-26", "--json", cwd=tmp_path)
    after = _cli("plan", "show", "2022-26", "--json", "--config", str(config_copy), cwd=tmp_path)
    assert before.returncode == after.returncode == 0 and before.stdout == after.stdout


def test_a_period_outside_every_plan_is_said_and_an_extension_silences_it(config_copy: Path, tmp_path: Path) -> None:
    cfg = load_config(config_copy)
    late = Period.parse("2026/27-Q3")
    warning = cfg.outside_every_plan(late)
    assert warning and "2022-26" in warning and "ended with 2025/26" in warning
    assert cfg.outside_every_plan(Period.parse("2025/26-Q3")) is None
    proc = _cli("--config", str(config_copy), "trackers", "--period", str(late), "--out", str(tmp_path / "t"),
                "--department", "ET", "--json")
    assert proc.returncode == 0 and "outside every plan" in proc.stderr
    assert json.loads(proc.stdout)["warning"] == warning
    nxt = _cli("--config", str(config_copy), "schedule", "next", "--now", "2026-10-01T08:00", "--days", "30", "--json")
    notes = [r["note"] for r in json.loads(nxt.stdout)["upcoming"]]
    assert any(n.startswith("the next plan file is due: 2022-26 ended with 2025/26") for n in notes)
    plan = config_copy / "plans" / "2022-26.yaml"
    plan.write_text(plan.read_text().replace("ends: 2025/26\n", "ends: 2025/26\nextended_until: 2026/27\n"
                                             "extension_note: until the 2026-30 plan is approved\n", 1))
    extended = load_config(config_copy)
    assert extended.outside_every_plan(late) is None and extended.plans["2022-26"].last_period() == Period.parse("2026/27")
    proc = _cli("--config", str(config_copy), "trackers", "--period", str(late), "--out", str(tmp_path / "t2"),
                "--department", "ET")
    assert proc.returncode == 0 and "outside every plan" not in proc.stderr
