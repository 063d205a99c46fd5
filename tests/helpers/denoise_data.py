"""Real-audio helpers for the denoise tests: in-repo recordings, mixtures, aligned runs.

Everything comes from ``tests/data`` (it ships with Jump) and the shipped models in
``models/``; ``SHARED_MODELS`` is only for the tests marked ``shared``, which add cases
the in-repo set cannot (the fp32 NSNet2 original is fetched, not shipped).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from jump.catalogue import PROJECT_MODELS
from jump.lab.denoise.mixtures import RATE, Mixture, MixtureSpec, build, load
from tests.conftest import DATA, SHARED

AUDIO = DATA / "audio"
MODELS = PROJECT_MODELS
SHARED_MODELS = SHARED / "models"

# The same recipe as `python -m jump eval denoise` (jump.lab.denoise.mixtures.SPECS), on the
# redistributable noise in tests/data (see its README for why the noise is generated).
SPECS = (
    MixtureSpec("fan", ("speech/spk1_snt1.wav", "speech/spk1_snt2.wav"), "noise/fan.wav"),
    MixtureSpec("babble", ("speech/example1.wav", "speech/spk1_snt3.wav"), "noise/babble.wav"),
    MixtureSpec("street", ("speech/example5.wav", "speech/spk1_snt4.wav"), "noise/street.wav"),
    MixtureSpec("keys", ("speech/spk1_snt5.wav", "speech/spk1_snt6.wav"), "noise/keys.wav"),
)


@lru_cache(maxsize=8)
def speech(name: str = "spk1_snt1.wav", rate: int = RATE) -> np.ndarray:
    """Clean read speech resampled to ``rate``, float32 mono."""
    return load(AUDIO / "speech" / name, rate).astype(np.float32)


@lru_cache(maxsize=8)
def mixture(name: str, snr_db: float) -> Mixture:
    """One of the in-repo mixtures (fixed seeds, as ``python -m jump eval denoise``)."""
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
