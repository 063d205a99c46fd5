"""Whole recordings through the streaming engine, latency compensated.

Output sample n lines up with input sample n and has the same length and channel count:
the engine's first ``latency_samples`` outputs are dropped and its flushed tail appended.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from jump.denoise.engine import Denoiser
from jump.denoise.settings import DenoiseSettings

CHUNK_S = 0.5


def denoise_array(
    x: np.ndarray,
    rate: int,
    settings: DenoiseSettings | None = None,
    models_dir: str | None = None,
    progress: Callable[[float], None] | None = None,
    denoiser: Denoiser | None = None,
) -> np.ndarray:
    """Planar ``[channels, n]`` (or mono ``[n]``) in, the same shape out, aligned."""
    mono = x.ndim == 1
    planar = np.atleast_2d(np.asarray(x, dtype=np.float32))
    d = denoiser or Denoiser(rate, planar.shape[0], settings, models_dir)
    n = planar.shape[1]
    out = np.empty_like(planar)
    step = max(1, int(CHUNK_S * rate))
    lat = d.latency_samples
    written = 0
    for start in range(0, n, step):
        y = d.push(planar[:, start : start + step])
        skip = max(0, lat - start)  # the first `lat` outputs precede the input
        y = y[:, skip:]
        out[:, written : written + y.shape[1]] = y
        written += y.shape[1]
        if progress:
            progress(min(1.0, (start + step) / n))
    tail = d.flush()[:, : n - written]
    out[:, written : written + tail.shape[1]] = tail
    return out[0] if mono else out
