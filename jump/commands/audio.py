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
    reference: np.ndarray | None = None,
) -> np.ndarray:
    """Planar ``[channels, n]`` (or mono ``[n]``) in, the same shape out, aligned.

    ``reference``: the sound whose echo to cancel (the game), mono or planar, at ``rate``,
    starting with ``x``; shorter is padded with silence."""
    mono = x.ndim == 1
    planar = np.atleast_2d(np.asarray(x, dtype=np.float32))
    d = denoiser or Denoiser(rate, planar.shape[0], settings, models_dir)
    n = planar.shape[1]
    out = np.empty_like(planar)
    step = max(1, int(CHUNK_S * rate))
    lat = d.latency_samples
    written = 0
    ref = None
    if reference is not None:
        ref = np.atleast_2d(np.asarray(reference, dtype=np.float32)).mean(axis=0)
        ref = np.concatenate([ref[:n], np.zeros(max(0, n - ref.size), np.float32)])
    for start in range(0, n, step):
        chunk = None if ref is None else ref[start : start + step]
        y = d.push(planar[:, start : start + step], chunk)
        skip = max(0, lat - start)  # the first `lat` outputs precede the input
        y = y[:, skip:]
        out[:, written : written + y.shape[1]] = y
        written += y.shape[1]
        if progress:
            progress(min(1.0, (start + step) / n))
    zeros = np.zeros((planar.shape[0], lat), dtype=np.float32)
    tail = d.push(zeros, None if ref is None else zeros[0])[:, : n - written]
    out[:, written : written + tail.shape[1]] = tail
    return out[0] if mono else out


def read_reference(path, rate: int) -> np.ndarray:
    """A reference recording (the game) as mono float32 at ``rate``: downmixed, and
    resampled with the engine's own resampler when its rate differs."""
    import soundfile as sf

    from jump.denoise.resample import StreamingResampler

    data, ref_rate = sf.read(str(path), dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    if ref_rate == rate:
        return mono
    r = StreamingResampler(ref_rate, rate)
    return np.concatenate([r.process(mono), r.process(np.zeros(256, np.float32))])
