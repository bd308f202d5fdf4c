"""`plan-reports addin build` without xlwings (the optional `excel` extra): a plain message saying what to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from plan_reports import addin
from plan_reports.cli import main

HINT = 'pip install "plan-reports[excel]"'


@pytest.fixture
def no_xlwings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "xlwings", None)  # `import xlwings` now raises ModuleNotFoundError


def test_build_without_xlwings_says_what_to_install(no_xlwings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "kit"
    code = main(["addin", "build", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("plan-reports: xlwings is not installed")
    assert HINT in err
    assert "Traceback" not in err and "ModuleNotFoundError" not in err
    assert not out.exists(), "nothing is written when the kit cannot be completed"


def test_build_raises_a_named_error_not_modulenotfound(no_xlwings, tmp_path: Path) -> None:
    with pytest.raises(addin.XlwingsMissing, match=r'pip install "plan-reports\[excel\]"'):
        addin.build(tmp_path / "kit", use_excel=False)


def test_build_without_xlwings_in_a_real_process(tmp_path: Path) -> None:
    """The console path end to end: a fresh interpreter in which xlwings cannot be imported."""
    code = ("import sys; sys.modules['xlwings'] = None; from plan_reports.cli import main; "
            f"sys.exit(main(['addin', 'build', '--out', {str(tmp_path / 'kit')!r}]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 1
    assert HINT in r.stderr and "Traceback" not in r.stderr
    assert r.stdout == ""


def test_build_with_xlwings_still_writes_the_kit(tmp_path: Path) -> None:
    pytest.importorskip("xlwings")
    res = addin.build(tmp_path / "kit", use_excel=False)
    assert res.xlam is None
    assert (tmp_path / "kit" / "xlwings_custom_addin.bas").read_bytes() == addin.xlwings_bas().read_bytes()
