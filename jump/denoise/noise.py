"""Noise power tracking by speech presence probability (Gerkmann & Hendriks, 2012).

Each bin's noise power is updated with the MMSE estimate of the noise periodogram,
``(1 - p) |Y|^2 + p sigma^2``, where ``p`` is the a-posteriori probability that speech is
present given a fixed "typical" speech SNR. Unlike minimum statistics it needs no bias
correction and follows rising noise within a few hundred milliseconds; the smoothed ``p``
is capped so a bin that looks like speech for too long (a new, louder noise) still adapts.
"""

from __future__ import annotations

import numpy as np


class NoiseTracker:
    """Per-bin noise PSD for ``rows`` spectra of ``bins`` bins, updated once per hop.

    Time constants are in seconds and converted for the hop, so 44.1 and 48 kHz behave alike.
    """

    def __init__(
        self,
        rows: int,
        bins: int,
        hop_s: float,
        noise_s: float = 0.09,
        stuck_s: float = 0.09,
        speech_snr_db: float = 15.0,
        prior: float = 0.5,
    ) -> None:
        self.shape = (rows, bins)
        self._a_d = float(np.exp(-hop_s / noise_s))
        self._a_p = float(np.exp(-hop_s / stuck_s))
        xi = 10.0 ** (speech_snr_db / 10.0)
        self._k1 = (1.0 - prior) / prior * (1.0 + xi)  # odds factor of the likelihood ratio
        self._k2 = xi / (1.0 + xi)
        self.noise = np.zeros(self.shape)
        self._p_smooth = np.zeros(self.shape)
        self._fresh = True

    def update(self, power: np.ndarray) -> np.ndarray:
        """Feed one hop's power [rows, bins]; returns the updated noise PSD (a view, don't keep)."""
        if self._fresh:
            # Assume the stream opens on noise (a mic's idle hiss) and seed with it.
            self.noise[:] = np.maximum(power, 1e-12)
            self._fresh = False
            return self.noise
        gamma = power / self.noise
        np.minimum(gamma, 500.0, out=gamma)
        p = 1.0 / (1.0 + self._k1 * np.exp(-gamma * self._k2))
        # A bin stuck at "speech" for long is more likely new noise: cap its probability.
        self._p_smooth *= self._a_p
        self._p_smooth += (1.0 - self._a_p) * p
        np.minimum(p, 0.99, out=p, where=self._p_smooth > 0.99)
        noise_periodogram = (1.0 - p) * power + p * self.noise
        self.noise *= self._a_d
        self.noise += (1.0 - self._a_d) * noise_periodogram
        np.maximum(self.noise, 1e-12, out=self.noise)
        return self.noise
