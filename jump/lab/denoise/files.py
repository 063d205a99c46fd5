"""Denoising whole recordings with the streaming engine, latency compensated.

Output sample n lines up with input sample n and has the same length and channel count:
the engine's first ``latency_samples`` outputs are dropped and its flushed tail appended.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

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
    lat_zeros = np.zeros((planar.shape[0], lat), dtype=np.float32)
    tail = d.push(lat_zeros, None if ref is None else lat_zeros[0])[:, : n - written]
    out[:, written : written + tail.shape[1]] = tail
    return out[0] if mono else out


class ProgressBar:
    """A one-line text bar on stderr (no dependency)."""

    def __init__(self, label: str, width: int = 40, stream=None) -> None:
        self.label, self.width = label, width
        self.stream = stream or sys.stderr
        self._last = -1

    def __call__(self, fraction: float) -> None:
        filled = int(self.width * fraction)
        if filled == self._last:
            return
        self._last = filled
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {100 * fraction:5.1f}%")
        if fraction >= 1.0:
            self.stream.write("\n")
        self.stream.flush()


def read_reference(path: Path, rate: int) -> np.ndarray:
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


def denoise_file(
    src: Path,
    dst: Path,
    settings: DenoiseSettings | None = None,
    models_dir: str | None = None,
    progress: bool = True,
    reference: Path | None = None,
) -> Denoiser:
    """Read ``src`` (any format soundfile reads), denoise, write ``dst`` with the same format.

    ``reference``: a recording of what the speakers played (the game), started with
    ``src``: its echo is cancelled too (the engine finds the delay)."""
    import soundfile as sf

    data, rate = sf.read(str(src), dtype="float32", always_2d=True)
    info = sf.info(str(src))
    d = Denoiser(rate, data.shape[1], settings, models_dir)
    bar = ProgressBar(Path(src).name) if progress else None
    ref = None if reference is None else read_reference(reference, rate)
    out = denoise_array(data.T, rate, denoiser=d, progress=bar, reference=ref)
    subtype = info.subtype if dst.suffix.lower() == Path(src).suffix.lower() else None
    sf.write(str(dst), out.T, rate, subtype=subtype)
    return d
