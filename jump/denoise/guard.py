"""What the audio thread does with bad input: fix the shape, silence NaN/Inf, clamp garbage.

Nothing here raises for audio OBS could send; each problem is logged once by the caller's
``warn(key, message)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

SAMPLE_LIMIT = 64.0  # |x| beyond this is garbage, not audio; clamp so the maths stays finite

Warn = Callable[[str, str], None]


def as_planar(x: Any, channels: int, warn: Warn) -> np.ndarray:
    """``x`` as float32 [channels, n]: mono promoted, missing channels silent, extra dropped."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise ValueError(f"expected [channels, n] audio, got shape {x.shape}")
    if x.shape[0] != channels:
        warn("channels", f"got {x.shape[0]} channels, expected {channels}")
        fixed = np.zeros((channels, x.shape[1]), dtype=np.float32)
        k = min(channels, x.shape[0])
        fixed[:k] = x[:k]
        x = fixed
    return x


def sanitise(block: np.ndarray, warn: Warn) -> None:
    """In place: NaN/Inf become silence, samples are clamped to +-SAMPLE_LIMIT."""
    # One reduction finds NaN/Inf (a NaN or Inf anywhere makes the sum non-finite).
    with np.errstate(invalid="ignore", over="ignore"):
        total = float(np.add.reduce(block, axis=None))
    if not math.isfinite(total):
        if not np.isfinite(block).all():
            warn("nonfinite", "NaN/Inf in the input were replaced by silence")
        np.nan_to_num(block, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    np.minimum(block, SAMPLE_LIMIT, out=block)
    np.maximum(block, -SAMPLE_LIMIT, out=block)


def unprocessed(x: Any, channels: int) -> np.ndarray:
    """The input itself (finite, right shape) when processing failed: the voice keeps
    going, 20 ms early for this one chunk, rather than going silent."""
    n = int(np.shape(x)[-1]) if np.ndim(x) else 0
    try:
        out = np.nan_to_num(np.asarray(x, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        if out.shape == (channels, n):
            return out
    except Exception:
        pass
    return np.zeros((channels, n), dtype=np.float32)
