"""Bulk delay between the reference (what the speakers play) and its echo in the mic.

GCC-PHAT (Knapp & Carter 1976) on the last second of both signals, decimated to 12 kHz:
the phase-transform weighting whitens the game's sound, so the cross-correlation peaks
sharply at the direct path even through a reverberant room and a distorting speaker.
Every ``EVERY`` hops the correlation over lags 0..max is recomputed and smoothed; its
peak is adopted when it stands clearly above the rest of the curve, and a later peak
elsewhere replaces it only when it wins several evaluations in a row (a device whose
latency changed), not for one noisy window (the streamer talking over the game).
"""

from __future__ import annotations

import numpy as np
import scipy.fft

DECIMATE = 4  # 48 kHz -> 12 kHz: ample for a delay the adaptive filter refines
WINDOW_S = 0.9  # mic span correlated at each evaluation
EVERY = 10  # hops between evaluations (100 ms)
FIRST_S = 0.3  # the first estimate once this much has played...
FIRST_RATIO = 15.0  # ...with a clearer peak, among the lags it has seen for 0.15 s
SMOOTH = 0.6  # weight of the previous correlation curve
PEAK_RATIO = 6.0  # the peak over the curve's mean absolute value, to be trusted
SWITCH_EVALS = 3  # evaluations a new peak must win before the delay moves
LIVE_RMS = 10.0 ** (-60.0 / 20.0)


class DelayEstimator:
    """Feed mic and reference hops (mono, equal length); ``delay_samples`` follows the echo."""

    def __init__(self, sample_rate: int, hop: int, max_delay_s: float) -> None:
        self.sample_rate, self.hop = int(sample_rate), int(hop)
        self.rate = self.sample_rate // DECIMATE
        self.max_lag = int(np.ceil(max_delay_s * self.rate))
        self.win = int(WINDOW_S * self.rate)
        # linear, not circular, correlation of the mic window with the longer reference one
        self.n_fft = 1 << int(np.ceil(np.log2(2 * self.win + self.max_lag)))
        self.reset()

    def reset(self) -> None:
        size = self.win + self.max_lag
        self._mic = np.zeros(size)
        self._ref = np.zeros(size)
        self._hops = 0
        self._curve: np.ndarray | None = None
        self.delay_samples: int | None = None
        self._candidate, self._streak = -1, 0
        self.peak_ratio = 0.0

    def _append(self, buf: np.ndarray, x: np.ndarray) -> None:
        d = x[: x.size // DECIMATE * DECIMATE].reshape(-1, DECIMATE).mean(axis=1)
        buf[: -d.size] = buf[d.size :]
        buf[-d.size :] = d

    def update(self, mic: np.ndarray, ref: np.ndarray) -> bool:
        """One hop of each. True when ``delay_samples`` changed."""
        self._append(self._mic, mic)
        self._append(self._ref, ref)
        self._hops += 1
        if self._hops % EVERY or self._hops * self.hop < self.sample_rate * FIRST_S:
            return False
        recent = self._ref[-self.win :]
        if np.sqrt(np.mean(recent * recent)) < LIVE_RMS:
            return False  # the game is silent: nothing to learn about the echo path
        return self._evaluate()

    def _evaluate(self) -> bool:
        n = self.n_fft
        m = scipy.fft.rfft(self._mic[-self.win :], n)
        r = scipy.fft.rfft(self._ref, n)
        cross = m * np.conj(r)
        mag = np.abs(cross)
        cross /= mag + 1e-2 * mag.mean() + 1e-30  # regularised: empty bins stay quiet
        # the reference window starts max_lag samples before the mic's, so an echo of
        # delay d peaks at circular index d - max_lag
        full = scipy.fft.irfft(cross, n)
        c = np.concatenate([full[n - self.max_lag :], full[:1]])
        c = np.maximum(c, 0.0)
        self._curve = c if self._curve is None else SMOOTH * self._curve + (1 - SMOOTH) * c
        curve = self._curve
        if self.delay_samples is None:
            # a lag longer than what has played (less 0.15 s) has no evidence yet
            seen = int(self._hops * self.hop / DECIMATE - 0.15 * self.rate)
            curve = curve[: max(1, min(curve.size, seen))]
        best = int(np.argmax(curve))
        self.peak_ratio = float(curve[best] / (np.mean(np.abs(curve)) + 1e-12))
        if self.peak_ratio < (PEAK_RATIO if self.delay_samples is not None else FIRST_RATIO):
            self._streak = 0
            return False
        d = best * DECIMATE
        if self.delay_samples is None:
            self.delay_samples = d
            return True
        if abs(d - self.delay_samples) <= 2 * DECIMATE:
            self._streak = 0
            return False
        self._streak = self._streak + 1 if best == self._candidate else 1
        self._candidate = best
        if self._streak >= SWITCH_EVALS:
            self.delay_samples, self._streak = d, 0
            return True
        return False
