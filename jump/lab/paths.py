"""Where the lab finds the repository and the shared evaluation data (the one place that
builds the ``../shared`` path; tests use it too)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS_IMG = REPO / "docs" / "img"


def shared_dir() -> Path:
    """The shared data/models folder: ``$JUMP_SHARED``, else ``../shared`` beside the repo."""
    env = os.environ.get("JUMP_SHARED")
    return Path(env) if env else REPO.parent / "shared"


BUNDLED_DATA = REPO / "tests" / "data"
_warned: set[str] = set()


def data_dir() -> Path:
    """The evaluation data: ``shared/data`` where it is, else the smaller set that ships in
    ``tests/data`` (a fresh clone), with one warning: figures then differ from
    docs/benchmarks.md, which are on the shared set."""
    shared = shared_dir() / "data"
    if shared.is_dir():
        return shared
    if "data" not in _warned:
        _warned.add("data")
        import logging

        logging.getLogger("jump.lab").warning(
            "%s not found: using the bundled %s (fewer, other clips: the figures differ "
            "from docs/benchmarks.md)",
            shared,
            BUNDLED_DATA,
        )
    return BUNDLED_DATA
