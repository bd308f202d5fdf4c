from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from plan_reports.config import Config, load_config

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Config and validation caches go to a fresh folder, shared by the tests and the CLIs they start."""
    import os

    folder = tmp_path_factory.mktemp("cache")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    return folder
CONFIG = REPO / "config"
SHARED = REPO.parent / "shared"


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


@pytest.fixture(scope="session")
def demo(config: Config, tmp_path_factory: pytest.TempPathFactory) -> object:
    """The whole demo, run once: two years of returns, the store, the consolidated workbook, trackers and decks."""
    from plan_reports.demo import run_demo

    return run_demo(config, tmp_path_factory.mktemp("demo"))
