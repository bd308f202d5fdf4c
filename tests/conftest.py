from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from plan_reports.config import Config, load_config

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Config and validation caches and logs go to a fresh folder, shared by the tests and the CLIs they start."""
    folder = tmp_path_factory.mktemp("cache")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    os.environ["XDG_STATE_HOME"] = str(folder / "state")  # logs (platformdirs' user_log_path)
    return folder
CONFIG = REPO / "config"
REALDATA = REPO / "tests" / "data" / "realdata" / "trafford"  # copies of the shared real series, with their licence
TRAFFORD = "E08000009"


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config(CONFIG)


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    """A writable copy of the real config, for tests that break it on purpose."""
    dst = tmp_path / "config"
    shutil.copytree(CONFIG, dst)
    return dst


@pytest.fixture(scope="session")
def samples(config: Config, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Valid filled trackers for 2025/26-Q2, one per department (read-only: copy before changing)."""
    from plan_reports.periods import Period
    from plan_reports.samples import write_samples

    out = tmp_path_factory.mktemp("samples")
    return {p.name.split("_")[1]: p for p in write_samples(config, Period.parse("2025/26-Q2"), out, seed=7)}


@pytest.fixture
def inbox(samples: dict[str, Path], tmp_path: Path) -> Path:
    """A period's inbox holding a copy of every department's valid return."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    for p in samples.values():
        shutil.copy2(p, folder / p.name)
    return folder


@pytest.fixture(scope="session")
def demo(config: Config, tmp_path_factory: pytest.TempPathFactory) -> object:
    """The whole demo, run once: two years of returns, the store, the consolidated workbook, trackers and decks."""
    from plan_reports.demo import run_demo

    return run_demo(config, tmp_path_factory.mktemp("demo"))


def trafford_config(dst: Path, *, cipfa: str = "cipfa2021.csv") -> Path:
    """A copy of the config in which Trafford plays the council, ranked among its published CIPFA neighbours."""
    import csv

    import yaml

    shutil.copytree(CONFIG, dst)
    org_file = dst / "organisation.yaml"
    org = yaml.safe_load(org_file.read_text())
    org["council"] = {"name": "Trafford Council", "area_code": TRAFFORD}
    with (REALDATA / cipfa).open() as f:
        members = [r["area_code"] for r in csv.DictReader(f)]
    for g in org["comparator_groups"]:
        if g["id"] == "cipfa_nn":
            g.update(members=members, members_source=f"CIPFA nearest neighbours of Trafford ({cipfa}, Trafford Data Lab)",
                     members_note="")
    org_file.write_text(yaml.safe_dump(org, sort_keys=False))
    plan = dst / "plans" / "2022-26.yaml"  # Trafford is a metropolitan borough: no county group ranks it
    plan.write_text(plan.read_text(encoding="utf-8").replace("comparator: county_councils", "comparator: cipfa_nn"),
                    encoding="utf-8")
    return dst


@pytest.fixture
def trafford(tmp_path: Path) -> Config:
    return load_config(trafford_config(tmp_path / "config"))


SITE = textwrap.dedent('''
    """Test-only: makes the worker's cell reader crash on one file name, as a native reader would."""
    import os

    if os.environ.get("PLAN_REPORTS_TEST_CRASH"):
        import plan_reports.xlsx as x

        real = x.read_values

        def read_values(pkg, names):
            how, name = os.environ["PLAN_REPORTS_TEST_CRASH"].split(":", 1)
            if pkg.path.name == name:
                if how == "abort":
                    os.abort()
                class PanicException(BaseException):
                    pass
                raise PanicException("called `Option::unwrap()` on a `None` value")
            return real(pkg, names)

        x.read_values = read_values
''')


@pytest.fixture
def crash_hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """Spawned workers import a sitecustomize that crashes the reader on one file (patches do not cross spawn)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))

    def arm(how: str, name: str) -> None:
        monkeypatch.setenv("PLAN_REPORTS_TEST_CRASH", f"{how}:{name}")

    return arm
