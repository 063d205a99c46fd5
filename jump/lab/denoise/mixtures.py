"""Noisy speech at 48 kHz with known clean speech, built from the shared recordings.

Every mixture is deterministic (fixed seeds): a short noise-only lead-in (a streamer's mic
is live before they talk), two utterances with a pause between them, a short tail. The
16 kHz speech and noise are resampled to 48 kHz, the rate OBS runs at. For reverberant
cases the reference is the reverberant speech: the denoiser is asked to remove noise, not
the room.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

RATE = 48000
SPEECH_RMS = 0.05  # about -26 dBFS, a typical broadcast speech level
LEAD_S, PAUSE_S, TAIL_S = 0.6, 0.4, 0.3


def default_audio_dir() -> Path:
    """``shared/data/audio`` next to the repository (where CI and developers keep it), else
    the bundled ``tests/data/audio`` (a fresh clone; ``BUNDLED_SPECS``)."""
    from jump.lab.paths import data_dir

    return data_dir() / "audio"


@dataclass(frozen=True)
class MixtureSpec:
    name: str
    speech: tuple[str, str]
    noise: str
    rir: str | None = None


SPECS = (
    MixtureSpec("fan", ("speech/spk1_snt1.wav", "speech/spk1_snt2.wav"), "noise/noise1.wav"),
    MixtureSpec("babble", ("speech/example1.wav", "speech/spk1_snt3.wav"), "noise/noise2.wav"),
    MixtureSpec("street", ("speech/example5.wav", "speech/spk1_snt4.wav"), "noise/noise3.wav"),
    MixtureSpec("dog", ("speech/spk1_snt5.wav", "speech/spk1_snt6.wav"), "noise/1-100032-A-0.wav"),
    MixtureSpec(
        "reverb",
        ("speech/spk1_snt2.wav", "speech/example5.wav"),
        "noise/2-100648-A-43.wav",
        rir="rir/rir2.wav",
    ),
)
QUICK = ("fan", "street", "reverb")
# The same scheme on the clips that ship in tests/data (no room impulse responses there).
BUNDLED_SPECS = (
    MixtureSpec("fan", ("speech/spk1_snt1.wav", "speech/spk1_snt2.wav"), "noise/fan.wav"),
    MixtureSpec("babble", ("speech/example1.wav", "speech/spk1_snt3.wav"), "noise/babble.wav"),
    MixtureSpec("street", ("speech/example5.wav", "speech/spk1_snt4.wav"), "noise/street.wav"),
    MixtureSpec("keys", ("speech/spk1_snt5.wav", "speech/spk1_snt6.wav"), "noise/keys.wav"),
)
BUNDLED_QUICK = ("fan", "street", "keys")


def specs_for(audio_dir: Path, quick: bool = False) -> list[MixtureSpec]:
    """The shared set's mixtures, or the bundled set's where the shared files are absent."""
    shared = all((audio_dir / s.noise).is_file() for s in SPECS)
    specs, names = (SPECS, QUICK) if shared else (BUNDLED_SPECS, BUNDLED_QUICK)
    return [s for s in specs if not quick or s.name in names]


@dataclass
class Mixture:
    name: str
    snr_db: float
    noisy: np.ndarray  # 48 kHz float32 mono
    clean: np.ndarray  # 48 kHz reference, same length
    voiced: np.ndarray  # bool per 48 kHz sample: inside an utterance


def load(path: Path, rate: int = RATE) -> np.ndarray:
    """Mono float64 audio at ``rate`` (polyphase resampling when the file differs)."""
    import soundfile as sf
    from scipy.signal import resample_poly

    x, sr = sf.read(str(path), dtype="float64", always_2d=True)
    x = x.mean(axis=1)
    if sr != rate:
        ratio = Fraction(rate, sr)
        x = resample_poly(x, ratio.numerator, ratio.denominator)
    return x


def _noise_of_length(noise: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    # Loop by reflection (forward, backward, ...) so the seams have no click.
    loop = np.concatenate((noise, noise[::-1]))
    reps = -(-(n + loop.size) // loop.size)
    start = int(rng.integers(0, loop.size))
    return np.tile(loop, reps)[start : start + n]


def build(spec: MixtureSpec, snr_db: float, audio_dir: Path, seed: int = 0) -> Mixture:
    from scipy.signal import fftconvolve

    rng = np.random.default_rng(seed)
    parts, voiced = [np.zeros(round(LEAD_S * RATE))], [np.zeros(round(LEAD_S * RATE), bool)]
    for i, name in enumerate(spec.speech):
        utt = load(audio_dir / name)
        utt -= utt.mean()
        parts.append(utt)
        voiced.append(np.ones(utt.size, bool))
        gap = PAUSE_S if i == 0 else TAIL_S
        parts.append(np.zeros(round(gap * RATE)))
        voiced.append(np.zeros(round(gap * RATE), bool))
    clean = np.concatenate(parts)
    mask = np.concatenate(voiced)
    if spec.rir:
        rir = load(audio_dir / spec.rir)
        rir /= np.max(np.abs(rir))
        clean = fftconvolve(clean, rir)[: clean.size]
    clean *= SPEECH_RMS / np.sqrt(np.mean(clean[mask] ** 2))
    noise = _noise_of_length(load(audio_dir / spec.noise), clean.size, rng)
    noise -= noise.mean()
    noise *= SPEECH_RMS / np.sqrt(np.mean(noise**2)) / 10.0 ** (snr_db / 20.0)
    noisy = clean + noise
    return Mixture(spec.name, snr_db, noisy.astype(np.float32), clean.astype(np.float32), mask)


def build_all(
    audio_dir: Path | None = None, snrs: tuple[float, ...] = (0, 5, 10), quick: bool = False
) -> list[Mixture]:
    audio_dir = audio_dir or default_audio_dir()
    specs = specs_for(audio_dir, quick)
    return [
        build(spec, snr, audio_dir, seed=1000 * i + int(snr))
        for snr in snrs
        for i, spec in enumerate(specs)
    ]
