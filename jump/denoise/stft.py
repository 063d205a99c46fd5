"""Analysis/synthesis framing for the denoise engine: window functions and FFT sizes.

A stage says which window and FFT size it wants (its ``framing``); the engine builds its
STFT from that, so a model trained on another window gets the frames it saw in training.
Every window here satisfies w^2[k] + w^2[k + n/2] == 1 (Princen-Bradley): with 50 %
overlap and the window applied on analysis and synthesis, a gain of 1 reconstructs the
input up to float rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def sqrt_hann(n: int) -> np.ndarray:
    """Periodic sqrt-Hann (NSNet2, the classical tracker)."""
    k = np.arange(n)
    return np.sqrt(0.5 - 0.5 * np.cos(2.0 * np.pi * k / n)).astype(np.float32)


def vorbis(n: int) -> np.ndarray:
    """Vorbis power-complementary window, ``sin(pi/2 sin^2(pi (k + 0.5) / n))`` (DeepFilterNet)."""
    k = np.arange(n)
    return np.sin(0.5 * np.pi * np.sin(np.pi * (k + 0.5) / n) ** 2).astype(np.float32)


WINDOWS: dict[str, Callable[[int], np.ndarray]] = {"sqrt-hann": sqrt_hann, "vorbis": vorbis}


@dataclass(frozen=True)
class Framing:
    """What a stage needs from the engine's STFT: window function name and FFT length."""

    window_fn: str
    n_fft: int


def smooth_fft_size(rate: int, window: int, model_rate: int, model_n_fft: int) -> int:
    """FFT length at ``rate`` whose bin spacing matches a model's (``model_n_fft`` at ``model_rate``).

    At 44.1 kHz a 1024-point FFT puts bins 43 Hz apart; interpolating those onto the
    model's grid alternates sharp and smeared harmonics and measurably hurt quality. The
    engine zero-pads to the nearest length with factors 2, 3, 5 and 7 only (945 at 44.1 kHz,
    0.4 % off), which pocketfft runs about as fast as a power of two.
    """
    ideal = round(model_n_fft * rate / model_rate)

    def smooth(n: int) -> bool:
        for p in (2, 3, 5, 7):
            while n % p == 0:
                n //= p
        return n == 1

    candidates = [n for n in range(ideal - 16, ideal + 17) if n >= window and smooth(n)]
    return min(candidates, key=lambda n: abs(n - ideal)) if candidates else max(window, ideal)


def default_framing(window: int) -> Framing:
    """The engine's framing when no model says otherwise: sqrt-Hann, next power of two."""
    return Framing("sqrt-hann", 1 << (window - 1).bit_length())


class HopDelay:
    """Delays blocks of frames ``[rows, hops, bins]`` by a fixed number of hops."""

    def __init__(self, lag: int) -> None:
        self.lag = lag
        self._history: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.lag == 0:
            return x
        h = self._history
        if h is None or h.shape[0] != x.shape[0] or h.shape[2] != x.shape[2] or h.dtype != x.dtype:
            h = np.zeros((x.shape[0], self.lag, x.shape[2]), dtype=x.dtype)
        joined = np.concatenate([h, x], axis=1)
        self._history = joined[:, -self.lag :].copy()
        return joined[:, : x.shape[1]]
