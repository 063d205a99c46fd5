"""Shared fixtures: where the test data and models live, and a headless OBS factory.

The tests run on ``tests/data`` and the shipped ``models/``: a fresh clone needs nothing
else. ``../shared`` (CI and developers have it) only adds cases: tests marked ``shared``
use files that are not redistributable or not shipped (the fp32 NSNet2 original, the
fetchable models); without ``../shared`` they are deselected, not skipped, and the run
says how many.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.obs_harness import OBS_BIN, SHARED, XVFB_BIN, ObsProcess

DATA = Path(__file__).resolve().parent / "data"
HAVE_SHARED = (SHARED / "models").is_dir()

if HAVE_SHARED:
    # Searched before models/: the fetchable models live there (the shipped ones are equal).
    os.environ.setdefault("JUMP_MODELS", str(SHARED / "models"))
# The lab's composite builders (jump.lab.matte.synth) read <root>/data/matte: tests/data mirrors it.
os.environ.setdefault("JUMP_SHARED", str(DATA.parent))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "shared: adds a case from ../shared beyond the in-repo data (deselected without it)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if HAVE_SHARED:
        return
    extra = [item for item in items if item.get_closest_marker("shared")]
    if extra:
        config.hook.pytest_deselected(items=extra)
        items[:] = [item for item in items if not item.get_closest_marker("shared")]
        config._jump_shared_deselected = len(extra)  # type: ignore[attr-defined]


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    n = getattr(config, "_jump_shared_deselected", 0)
    if n:
        terminalreporter.write_line(
            f"jump: {n} extra case(s) from ../shared deselected ({SHARED} not found); "
            "every in-repo case ran"
        )


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
