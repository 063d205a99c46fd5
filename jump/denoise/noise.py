"""Noise power tracking with MCRA (Cohen & Berdugo, 2001).

The noise estimate is a recursive average of the noisy power whose speed is slowed by the
per-bin speech presence probability: bins where the smoothed power stands well above its
recent minimum are treated as speech and leave the estimate alone. The minimum is tracked
over a sliding window of two sub-windows, so the estimate follows noise that gets louder
within about one window (0.8 s at the defaults) and quieter at once.
"""

from __future__ import annotations

import numpy as np


class NoiseTracker:
    """Per-bin noise PSD for ``rows`` independent spectra of ``bins`` bins, updated once a hop.

    Time constants are given in seconds and converted for the hop, so the tracker behaves
    the same at 44.1 and 48 kHz.
    """

    def __init__(
        self,
        rows: int,
        bins: int,
        hop_s: float,
        smooth_s: float = 0.045,
        noise_s: float = 0.2,
        presence_s: float = 0.06,
        window_s: float = 0.4,
        ratio: float = 5.0,
    ) -> None:
        self.shape = (rows, bins)
        self._a_s = float(np.exp(-hop_s / smooth_s))
        self._a_d = float(np.exp(-hop_s / noise_s))
        self._a_p = float(np.exp(-hop_s / presence_s))
        self._window = max(2, round(window_s / hop_s))
        self._ratio = ratio
        self.noise = np.zeros(self.shape)
        self.presence = np.zeros(self.shape)
        self._smooth = np.zeros(self.shape)
        self._min = np.zeros(self.shape)
        self._tmp = np.zeros(self.shape)
        self._count = 0
        self._scratch = np.zeros(self.shape)

    def reset(self) -> None:
        self._count = 0
        for a in (self.noise, self.presence, self._smooth, self._min, self._tmp):
            a[:] = 0.0

    def update(self, power: np.ndarray, presence_hint: np.ndarray | None = None) -> np.ndarray:
        """Feed one hop's power [rows, bins]; returns the updated noise PSD (a view, don't keep)."""
        s = self._scratch
        # Frequency smoothing (1/4, 1/2, 1/4) keeps the minimum from chasing single-bin dips.
        s[:, 1:-1] = 0.5 * power[:, 1:-1] + 0.25 * (power[:, :-2] + power[:, 2:])
        s[:, 0] = power[:, 0]
        s[:, -1] = power[:, -1]
        if self._count == 0:
            # First hop: assume the stream opens on noise (a mic's idle hiss) and seed with it.
            self._smooth[:] = s
            self._min[:] = s
            self._tmp[:] = s
            self.noise[:] = power
        else:
            self._smooth *= self._a_s
            self._smooth += (1.0 - self._a_s) * s
            np.minimum(self._min, self._smooth, out=self._min)
            np.minimum(self._tmp, self._smooth, out=self._tmp)
            if self._count % self._window == 0:
                np.minimum(self._tmp, self._smooth, out=self._min)
                self._tmp[:] = self._smooth
        self._count += 1
        speech = self._smooth > self._ratio * np.maximum(self._min, 1e-20)
        self.presence *= self._a_p
        self.presence += (1.0 - self._a_p) * speech
        p = self.presence if presence_hint is None else np.maximum(self.presence, presence_hint)
        alpha = self._a_d + (1.0 - self._a_d) * p
        self.noise *= alpha
        self.noise += (1.0 - alpha) * power
        return self.noise
