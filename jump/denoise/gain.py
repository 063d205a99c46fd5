"""Spectral gain rules with the decision-directed a-priori SNR (Ephraim & Malah, 1984/85).

The a-priori SNR mixes the previous frame's clean-speech estimate with the current
posterior SNR; its heavy smoothing in noise-only bins is what keeps residual noise from
turning into "musical" tones. The log-spectral-amplitude rule adds the exp-integral term
that attenuates low-SNR bins less abruptly than Wiener.
"""

from __future__ import annotations

import numpy as np
from scipy.special import exp1

# exp(E1(v) / 2), the LSA correction, tabulated on a log grid: scipy's exp1 on every bin of
# every hop cost more than the rest of the classical path; linear interpolation in log(v)
# stays within 0.1 % of it. Beyond the grid the factor is 1 (large v) or clamped (tiny v).
_LOG_V = np.linspace(np.log(1e-6), np.log(40.0), 600)
_LSA_FACTOR = np.exp(0.5 * exp1(np.exp(_LOG_V)))


class DecisionDirectedGain:
    """Per-bin log-spectral-amplitude gain for ``rows`` spectra."""

    def __init__(
        self,
        rows: int,
        bins: int,
        alpha: float = 0.98,
        xi_min_db: float = -25.0,
    ) -> None:
        self.alpha = alpha
        self.xi_min = 10.0 ** (xi_min_db / 10.0)
        self._prev_clean = np.zeros((rows, bins))  # |G * X|^2 / noise of the previous hop
        self._fresh = True

    def __call__(self, power: np.ndarray, noise: np.ndarray) -> np.ndarray:
        gamma = power / np.maximum(noise, 1e-20)
        np.minimum(gamma, 1e4, out=gamma)
        ml = np.maximum(gamma - 1.0, 0.0)
        if self._fresh:
            xi = ml
            self._fresh = False
        else:
            xi = self.alpha * self._prev_clean + (1.0 - self.alpha) * ml
        np.maximum(xi, self.xi_min, out=xi)
        gain = xi / (1.0 + xi)
        log_v = np.log(np.maximum(gain * gamma, 1e-12))
        gain *= np.interp(log_v, _LOG_V, _LSA_FACTOR, right=1.0)
        np.minimum(gain, 1.0, out=gain)
        np.multiply(gain * gain, gamma, out=self._prev_clean)
        return gain
