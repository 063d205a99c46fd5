"""Regenerate the noise recordings in ``tests/data/audio/noise`` (deterministic; fixed seeds).

The noise clips in ``../shared`` have no licence that allows redistribution, so the
in-repo noise is made here: ``babble.wav`` from the LibriSpeech sentences next to it
(CC-BY-4.0, real voices talking over each other), ``fan.wav`` and ``street.wav`` synthesised
(coloured noise with hum, blade tones and slow swells), ``keys.wav`` typing-like clicks.
Run from the repository root: ``.venv/bin/python tests/data/make_noise.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import butter, lfilter, sosfilt

RATE = 16000
SECONDS = 8.0
HERE = Path(__file__).resolve().parent / "audio"


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    b = [0.049922, -0.095993, 0.050613, -0.004408]
    a = [1, -2.494956, 2.017265, -0.522189]
    return lfilter(b, a, rng.standard_normal(n))


def fan(rng: np.random.Generator) -> np.ndarray:
    n = int(SECONDS * RATE)
    t = np.arange(n) / RATE
    body = sosfilt(butter(2, 2500, fs=RATE, output="sos"), pink(n, rng))
    body /= np.std(body)
    blades = sum(np.sin(2 * np.pi * k * 97.0 * t + rng.uniform(0, 6)) / k for k in (1, 2, 3))
    hum = 0.3 * np.sin(2 * np.pi * 50 * t) + 0.15 * np.sin(2 * np.pi * 150 * t)
    wobble = 1 + 0.1 * np.sin(2 * np.pi * 0.31 * t)
    return wobble * (body + 0.25 * blades) + hum


def street(rng: np.random.Generator) -> np.ndarray:
    n = int(SECONDS * RATE)
    t = np.arange(n) / RATE
    rumble = np.cumsum(rng.standard_normal(n))  # brown noise: engines, tyres
    rumble = sosfilt(butter(2, [30, 1200], "bandpass", fs=RATE, output="sos"), rumble)
    hiss = sosfilt(butter(2, [1500, 6000], "bandpass", fs=RATE, output="sos"), pink(n, rng))
    rumble, hiss = rumble / np.std(rumble), hiss / np.std(hiss)
    passes = sum(np.exp(-0.5 * ((t - c) / 0.9) ** 2) for c in rng.uniform(0, SECONDS, 4))
    return (0.5 + passes) * (rumble + 0.4 * hiss)


def keys(rng: np.random.Generator) -> np.ndarray:
    n = int(SECONDS * RATE)
    out = 0.02 * rng.standard_normal(n)
    click_len = int(0.012 * RATE)
    decay = np.exp(-np.arange(click_len) / (0.002 * RATE))
    pos = 0
    while True:
        pos += int(rng.uniform(0.08, 0.35) * RATE)
        if pos + click_len >= n:
            break
        click = rng.standard_normal(click_len) * decay * rng.uniform(0.5, 1.5)
        out[pos : pos + click_len] += sosfilt(
            butter(2, [800, 6000], "bandpass", fs=RATE, output="sos"), click
        )
    return out


def babble(rng: np.random.Generator) -> np.ndarray:
    n = int(SECONDS * RATE)
    out = np.zeros(n)
    for path in sorted((HERE / "speech").glob("*.wav")):
        x, sr = sf.read(path, dtype="float64")
        assert sr == RATE
        x = np.tile(x / (np.std(x) + 1e-9), -(-n // x.size) + 1)
        start = int(rng.integers(0, x.size - n))
        out += x[start : start + n]
    return out


def main() -> None:
    rng = np.random.default_rng(2026)
    for name, make in (("fan", fan), ("street", street), ("keys", keys), ("babble", babble)):
        x = make(rng)
        x = 0.1 * x / np.sqrt(np.mean(x**2))
        sf.write(HERE / "noise" / f"{name}.wav", np.clip(x, -1, 1), RATE, subtype="PCM_16")


if __name__ == "__main__":
    main()
