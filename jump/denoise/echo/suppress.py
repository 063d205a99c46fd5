"""Residual echo suppression: a gain per STFT bin from the linear filter's echo estimate.

What the linear filter leaves (the speaker's distortion, the room's tail beyond the
filter, misadjustment) is modelled as ``leak`` times the echo estimate's power, held
with the room's decay so the tail after each game sound is covered too. ``leak`` is
the regression of the error's power on the echo estimate's power (Valin 2007, as in
Speex): the streamer's voice is uncorrelated with the game's power, so double talk does
not inflate it. The gain is multiplied with the neural stage's, so the engine's floor,
gate and mix apply to both and no latency is added.
"""

from __future__ import annotations

import numpy as np

OVER = 2.0  # over-subtraction of the residual estimate
MIN_LEAK, MAX_LEAK = 0.02, 10.0
DECAY_DB_PER_S = 120.0  # the tail the residual is held with (a room of T60 = 0.5 s)
FLOOR_DB = -40.0  # deepest echo gain per bin


class ResidualEcho:
    """Per-frame echo gains for ``rows`` streams of ``bins`` bins."""

    def __init__(self, rows: int, bins: int, hop_s: float) -> None:
        self.rows, self.bins = int(rows), int(bins)
        self.decay = 10.0 ** (-DECAY_DB_PER_S * hop_s / 10.0)
        self.floor = 10.0 ** (FLOOR_DB / 20.0)
        self.reset()

    def reset(self) -> None:
        r, k = self.rows, self.bins
        self._held = np.zeros((r, k))
        self._e_mean = np.zeros((r, k))
        self._y_mean = np.zeros((r, k))
        self._pey = np.zeros(r)
        self._pyy = np.full(r, 1e-12)
        self.leak = np.full(r, 1.0)

    def __call__(self, error: np.ndarray, echo: np.ndarray) -> np.ndarray:
        """``error``/``echo`` power [rows, hops, bins]; returns gains in [floor, 1], float32."""
        gains = np.empty(error.shape, dtype=np.float32)
        for t in range(error.shape[1]):
            e, y = error[:, t], echo[:, t]
            self._learn(e, y)
            residual = self.leak[:, None] * y
            self._held = np.maximum(residual, self.decay * self._held)
            g = 1.0 - OVER * self._held / np.maximum(e, 1e-20)
            gains[:, t] = np.clip(g, self.floor, 1.0)
        return gains

    def _learn(self, e: np.ndarray, y: np.ndarray) -> None:
        a = 0.05
        self._e_mean += a * (e - self._e_mean)
        self._y_mean += a * (y - self._y_mean)
        de, dy = e - self._e_mean, y - self._y_mean
        # learn faster while the echo estimate dominates the error (the game alone)
        rate = 0.02 * np.minimum(1.0, y.sum(axis=1) / np.maximum(e.sum(axis=1), 1e-20))
        self._pey += rate * (np.einsum("rk,rk->r", de, dy) - self._pey)
        self._pyy += rate * (np.einsum("rk,rk->r", dy, dy) - self._pyy)
        active = y.sum(axis=1) > 1e-9
        leak = self._pey / np.maximum(self._pyy, 1e-20)
        self.leak = np.where(active, np.clip(leak, MIN_LEAK, MAX_LEAK), self.leak)
