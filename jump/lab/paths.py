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
