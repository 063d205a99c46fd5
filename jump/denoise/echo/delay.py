"""Bulk delay between the reference (what the speakers play) and its echo in the mic.

Per hop both signals are reduced to log band energies (24 bands, 150 Hz - 6 kHz); the
normalised cross-correlation of the mic's bands with the reference's, at every lag from 0
to ``max_lag`` hops, is tracked with a 1.5 s memory. Band envelopes survive what breaks a
waveform correlation: the room's reverberation, the speaker's distortion and its
equaliser. The peak lag is adopted when it is clearly above the noise of the statistic
and better than the current lag for a few hops, so the estimate follows a device whose
latency changes without jumping on a near-end word.
"""

from __future__ import annotations

import numpy as np

BANDS = 24
F_LO, F_HI = 150.0, 6000.0
MEMORY_S = 1.5
MIN_SCORE = 0.15  # mean per-band correlation a lag needs before it is trusted
SWITCH_MARGIN = 1.1  # a new lag must beat the current one by this factor...
SWITCH_HOPS = 10  # ...for this many consecutive analysed hops


def band_edges(sample_rate: int, n_fft: int) -> np.ndarray:
    """FFT bin edges of the log-spaced bands."""
    f = np.geomspace(F_LO, min(F_HI, 0.45 * sample_rate), BANDS + 1)
    edges = np.round(f * n_fft / sample_rate).astype(int)
    # at least one bin per band: strictly increasing edges
    return np.maximum(edges, np.arange(BANDS + 1) + edges[0])


class DelayEstimator:
    """Feed per-hop band log-energies of mic and reference; ``delay_hops`` follows the echo."""

    def __init__(self, hop_s: float, max_lag: int) -> None:
        self.max_lag = int(max_lag)
        self.alpha = float(np.exp(-hop_s / MEMORY_S))
        self.reset()

    def reset(self) -> None:
        n = self.max_lag + 1
        self._ref = np.zeros((n, BANDS))  # newest first: row l = reference l hops ago
        self._ref_live = np.zeros(n, dtype=bool)
        self._m_mean = np.zeros(BANDS)
        self._m_var = np.full(BANDS, 1e-6)
        self._r_mean = np.zeros(BANDS)
        self._r_var = np.full(BANDS, 1e-6)
        self._cov = np.zeros((n, BANDS))
        self._seen = 0
        self.delay_hops: int | None = None
        self.score = 0.0
        self._candidate = -1
        self._streak = 0

    def update(self, mic_bands: np.ndarray, ref_bands: np.ndarray, ref_live: bool) -> bool:
        """One hop of log band energies (``[BANDS]`` each). True when the delay changed."""
        self._ref = np.roll(self._ref, 1, axis=0)
        self._ref_live = np.roll(self._ref_live, 1)
        self._ref[0] = ref_bands
        self._ref_live[0] = ref_live
        a = self.alpha
        if ref_live:
            self._r_mean = a * self._r_mean + (1 - a) * ref_bands
            self._r_var = a * self._r_var + (1 - a) * (ref_bands - self._r_mean) ** 2
        # learn only while the reference plays at the lag in question: a silent game says
        # nothing about the echo path, and the mic then carries only the streamer
        live = self._ref_live
        if not live.any():
            return False
        self._m_mean = a * self._m_mean + (1 - a) * mic_bands
        self._m_var = a * self._m_var + (1 - a) * (mic_bands - self._m_mean) ** 2
        m = (mic_bands - self._m_mean) / np.sqrt(self._m_var + 1e-6)
        r = (self._ref - self._r_mean) / np.sqrt(self._r_var + 1e-6)
        self._cov[live] = a * self._cov[live] + (1 - a) * (r[live] * m)
        self._seen += 1
        return self._decide()

    def _decide(self) -> bool:
        if self._seen * (1 - self.alpha) < 0.25:  # less than ~0.4 s of evidence
            return False
        scores = self._cov.mean(axis=1)
        best = int(np.argmax(scores))
        self.score = float(scores[best])
        if scores[best] < MIN_SCORE:
            return False
        if self.delay_hops is None:
            self.delay_hops = best
            return True
        if best == self.delay_hops or abs(best - self.delay_hops) <= 1:
            self._streak = 0
            return False
        if scores[best] < SWITCH_MARGIN * max(scores[self.delay_hops], 1e-6):
            self._streak = 0
            return False
        self._streak = self._streak + 1 if best == self._candidate else 1
        self._candidate = best
        if self._streak >= SWITCH_HOPS:
            self.delay_hops, self._streak = best, 0
            return True
        return False
