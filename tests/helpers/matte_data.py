"""Composite builders for the matte tests: real cut-outs over real photos, exact truth.

Everything comes from ``tests/data`` (it ships with Jump) and the shipped ``models/``.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from jump.catalogue import PROJECT_MODELS
from jump.lab.matte import synth
from tests.conftest import DATA

MODELS = PROJECT_MODELS
FOREGROUNDS = DATA / "matte" / "foregrounds"
BACKGROUNDS = DATA / "matte" / "backgrounds"

# (cut-out, background, placement): single people framed like a webcam, on which the
# default model is expected to work; varied backgrounds (street, plants, animal). The
# P3M portraits carry hair-level alpha. The model's failures on clutter are measured by
# `python -m jump eval matte` on the larger shared set, not pinned here.
HANDFUL = [
    ("person-1", "car-2", (0.95, 0.5, 1.0)),
    ("person-2", "car-2", (0.9, 0.45, 1.0)),
    ("p3m-bac3c1ff", "plants-1", (1.0, 0.5, 1.0)),
    ("p3m-bc5cfad1", "animal-1", (1.0, 0.5, 1.0)),
    ("p3m-bd6af989", "car-2", (1.0, 0.5, 1.0)),
]


@lru_cache(maxsize=8)
def _fg(name: str) -> np.ndarray:
    return synth.load_rgba(FOREGROUNDS / f"{name}.png")


@lru_cache(maxsize=8)
def _bg(name: str) -> np.ndarray:
    return synth.load_bgr(next(BACKGROUNDS.glob(f"{name}.*")))


def composite(
    fg: str,
    bg: str,
    placement: tuple[float, float, float] = (0.95, 0.5, 1.0),
    size: tuple[int, int] = (1280, 720),
    brightness: float = 1.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """(BGR uint8 frame, true alpha float32) of one cut-out over one background."""
    w, h = size
    colour, alpha = synth.place(_fg(fg), w, h, *placement)
    rng = np.random.default_rng(seed)
    frame = synth.compose(colour, alpha, synth.cover(_bg(bg), w, h), brightness, 2.0, rng)
    return frame, alpha


def handful(size: tuple[int, int] = (1280, 720)) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The fixed test composites: (name, BGR frame, true alpha)."""
    return [(f"{f}/{b}", *composite(f, b, p, size)) for f, b, p in HANDFUL]


def still_noisy_frames(
    n: int, size: tuple[int, int] = (1280, 720)
) -> tuple[list[np.ndarray], np.ndarray]:
    """n frames of one still composite, each with fresh sensor noise (as a webcam gives)."""
    w, h = size
    colour, alpha = synth.place(_fg("person-2"), w, h, 0.9, 0.45, 1.0)
    bg = synth.cover(_bg("car-2"), w, h)
    rng = np.random.default_rng(3)
    return [synth.compose(colour, alpha, bg, 1.0, 3.0, rng) for _ in range(n)], alpha


def bgra(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)
