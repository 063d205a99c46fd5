"""Real-audio helpers for the denoise tests: shared recordings, mixtures, aligned runs.

The shared folder is found beside the repo (``../shared``), as conftest's ``shared``
fixture does; tests skip when it is absent.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from jump.lab.denoise.mixtures import RATE, SPECS, Mixture, build, load
from jump.lab.paths import shared_dir

SHARED = shared_dir()
AUDIO = SHARED / "data" / "audio"
MODELS = SHARED / "models"


def need_shared() -> None:
    if not (AUDIO.is_dir() and MODELS.is_dir()):
        pytest.skip(f"shared data not found at {SHARED}")


@lru_cache(maxsize=8)
def speech(name: str = "spk1_snt1.wav", rate: int = RATE) -> np.ndarray:
    """Clean read speech resampled to ``rate``, float32 mono."""
    need_shared()
    return load(AUDIO / "speech" / name, rate).astype(np.float32)


@lru_cache(maxsize=8)
def mixture(name: str, snr_db: float) -> Mixture:
    """One of the eval mixtures (same seeds as ``python -m jump eval denoise``)."""
    need_shared()
    index = next(i for i, s in enumerate(SPECS) if s.name == name)
    return build(SPECS[index], snr_db, AUDIO, seed=1000 * index + int(snr_db))


def push_in_chunks(d, x: np.ndarray, sizes: list[int] | None = None, seed: int = 0) -> np.ndarray:
    """Push planar ``x`` through ``d`` in the given (or random) chunk sizes; concatenated output."""
    rng = np.random.default_rng(seed)
    out, pos, k = [], 0, 0
    while pos < x.shape[1]:
        n = sizes[k % len(sizes)] if sizes else int(rng.integers(0, 4000))
        k += 1
        y = d.push(x[:, pos : pos + n])
        assert y.shape == (x.shape[0], min(n, x.shape[1] - pos))
        assert y.dtype == np.float32
        out.append(y)
        pos += n
    return np.concatenate(out, axis=1)
