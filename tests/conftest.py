"""Shared fixtures: where the shared data and models live, and a headless OBS factory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.obs_harness import OBS_BIN, SHARED, XVFB_BIN, ObsProcess

os.environ.setdefault("JUMP_MODELS", str(SHARED / "models"))


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared data not found at {SHARED}")
    return SHARED


@pytest.fixture
def obs_factory(tmp_path: Path) -> Iterator:
    """Start headless OBS instances; every one is stopped when the test ends."""
    if not (OBS_BIN and XVFB_BIN):
        if os.environ.get("CI"):
            pytest.fail("obs and Xvfb must be installed in CI (.ci/run installs them)")
        pytest.skip("obs-studio or Xvfb is not installed")
    started: list[ObsProcess] = []

    def start(
        collection, env=None, home: Path | None = None, write_collection: bool = True, **options
    ):
        proc = ObsProcess(home or tmp_path / "home", collection, env=env, **options)
        started.append(proc)
        return proc.start(write_collection=write_collection)

    yield start
    for proc in started:
        proc.stop()
