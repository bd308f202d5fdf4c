from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from plan_reports.config import Config, load_config

REPO = Path(__file__).resolve().parents[1]
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
