"""Residual echo suppression: a gain per STFT bin from the echo the linear filter leaves.

Three estimates of that residual, the largest of which is suppressed:

- ``leak`` times the linear filter's echo estimate (Valin 2007, as in Speex): what the
  filter leaves once it has converged (the speaker's distortion, misadjustment). ``leak``
  is the regression of the error's power on the estimate's power: the streamer's voice is
  uncorrelated with the game's power, so double talk does not inflate it;
- the Kalman filter's own residual estimate, its coefficient uncertainty times the
  reference's power (Enzner & Vary 2006): large while the filter converges, in the
  first second and after the echo path moves, when ``leak`` learned on a good filter
  would under-estimate;
- the error's part coherent with the echo estimate over ~50 ms, less what unrelated
  signals show by chance (the voice in double talk): the echo a mis-fitted filter
  leaves at the estimate's frequencies (Gustafsson's coherence rule, as WebRTC's first
  AEC used it).

Each is held with the room's decay so the tail after each game sound is covered too.
The gain is multiplied with the neural stage's, so the engine's floor, gate and mix
apply to both and no latency is added. (Learning ``leak`` per band, or a model on the
reference's own power spectrum as AEC3's suppressor has, cost 2-3 dB of DT here.)
"""

from __future__ import annotations

import numpy as np

OVER = 1.5  # over-subtraction of the leak model (2.0 cost 0.1 PESQ for 0.3 dB ERLE)
MIN_LEAK, MAX_LEAK = 0.02, 10.0
DECAY_DB_PER_S = 120.0  # the tail the residual is held with (a room of T60 = 0.5 s)
FLOOR_DB = -40.0  # deepest echo gain per bin
UNC_OVER = 1.0  # weight of the Kalman filter's residual estimate
COH_SMOOTH = 0.8  # cross-spectrum smoothing per hop (~50 ms)
COH_BIAS = 2.0  # times the chance coherence removed: keeps the voice in double talk


class ResidualEcho:
    """Per-frame echo gains for ``rows`` streams of ``bins`` bins."""

    def __init__(self, rows: int, bins: int, hop_s: float) -> None:
        self.rows, self.bins = int(rows), int(bins)
        self.decay = 10.0 ** (-DECAY_DB_PER_S * hop_s / 10.0)
        self.floor = 10.0 ** (FLOOR_DB / 20.0)
        a = COH_SMOOTH
        # E|smoothed cross-spectrum|^2 of unrelated signals: (1-a)/(1+a) S_ee S_yy
        self._chance = COH_BIAS * (1 - a) / (1 + a)
        self.reset()

    def reset(self) -> None:
        r, k = self.rows, self.bins
        self._held = np.zeros((r, k))
        self._unc_held = np.zeros((r, k))
        self._s_ey = np.zeros((r, k), dtype=np.complex128)
        self._s_yy = np.zeros((r, k))
        self._s_ee = np.zeros((r, k))
        self._e_mean = np.zeros((r, k))
        self._y_mean = np.zeros((r, k))
        self._pey = np.zeros(r)
        self._pyy = np.full(r, 1e-12)
        self.leak = np.full(r, 1.0)

    def __call__(
        self,
        error: np.ndarray,
        echo: np.ndarray,
        uncertainty: np.ndarray | None = None,
        cross: np.ndarray | None = None,
    ) -> np.ndarray:
        """``error``/``echo`` power [rows, hops, bins]; ``uncertainty`` the Kalman filter's
        residual power [hops, bins]; ``cross`` error x conj(echo) spectra [rows, hops,
        bins]. Returns gains in [floor, 1], float32."""
        gains = np.empty(error.shape, dtype=np.float32)
        a = COH_SMOOTH
        for t in range(error.shape[1]):
            e, y = error[:, t], echo[:, t]
            self._learn(e, y)
            self._held = np.maximum(self.leak[:, None] * y, self.decay * self._held)
            residual = OVER * self._held
            if uncertainty is not None:
                u = UNC_OVER * uncertainty[t]
                self._unc_held = np.maximum(u, self.decay * self._unc_held)
                residual = np.maximum(residual, self._unc_held)
            if cross is not None:
                self._s_ey = a * self._s_ey + (1 - a) * cross[:, t]
                self._s_yy = a * self._s_yy + (1 - a) * y
                self._s_ee = a * self._s_ee + (1 - a) * e
                c2 = self._s_ey.real**2 + self._s_ey.imag**2
                c2 -= self._chance * self._s_ee * self._s_yy
                residual = np.maximum(residual, c2 / np.maximum(self._s_yy, 1e-20))
            g = 1.0 - residual / np.maximum(e, 1e-20)
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
