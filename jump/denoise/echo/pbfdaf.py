"""Partitioned-block frequency-domain adaptive filter (overlap-save, block = one hop).

The echo path is modelled as ``partitions`` blocks of ``block`` taps each; per block the
filter output is one product-sum over partitions in the frequency domain, the update a
per-bin normalised LMS step with the gradient constraint (Soo & Pang 1990; the structure
of Speex's MDF and of WebRTC AEC3's linear filter).

Two filters run side by side (Valin's two-path scheme, as in Speex): the background one
adapts at every block with a fixed step and may be led astray by double talk; the
foreground one, which makes the output, only takes the background's coefficients while
they remove clearly more than its own, and the background is reset to the foreground
when it diverges. Double talk therefore slows learning but never spoils the output.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

P_INIT = 1.0  # initial coefficient uncertainty until ``start`` scales it
P_FLOOR = 1e-6  # of the initial uncertainty
A2 = 0.9995  # state transition squared: how fast the echo path may change
NOISE_SMOOTH = 0.5
SMOOTH = 0.9  # energy smoothing of the two paths' comparison, per block (~100 ms)
COPY_RATIO = 0.95  # background error below this fraction of the foreground's: copy
DIVERGED = 1.5  # background error above this many times the mic: reset it


class Pbfdaf:
    """Adaptive filters for ``rows`` mics sharing one reference; see the module docstring."""

    def __init__(self, rows: int, block: int, partitions: int) -> None:
        self.rows, self.block, self.partitions = int(rows), int(block), int(partitions)
        self.n_fft = 2 * self.block
        self.bins = self.block + 1
        self.reset()

    def reset(self) -> None:
        shape = (self.rows, self.partitions, self.bins)
        # single precision: the filter's own misadjustment is far above float32 rounding
        self.w_fg = np.zeros(shape, dtype=np.complex64)
        self.w_bg = np.zeros(shape, dtype=np.complex64)
        # Kalman state: per-partition, per-bin variance of the coefficient error
        self._p = np.full((self.rows, self.partitions, self.bins), P_INIT, dtype=np.float32)
        self._floor = P_FLOOR * P_INIT
        self._noise = np.full((self.rows, self.bins), 1e-6, dtype=np.float32)
        self._e_fg = np.zeros(self.rows)
        self._e_bg = np.zeros(self.rows)
        self._mic = np.zeros(self.rows)
        self.copies = 0
        self.uncertainty = np.zeros((self.rows, self.bins), dtype=np.float32)

    def start(self, uncertainty: float) -> None:
        """Set the coefficients' initial uncertainty (before adapting): the echo path's
        expected power gain, so that the step and the residual estimate do not depend
        on how loud the reference is against the mic."""
        p0 = max(float(uncertainty), 1e-12)
        self._p[:] = p0
        self._floor = P_FLOOR * p0

    def shift(self, partitions: int) -> None:
        """The bulk delay grew by ``partitions`` blocks (shrank if negative): move the taps
        so that each keeps its absolute delay."""
        k = int(partitions)
        for w in (self.w_fg, self.w_bg):
            if k >= self.partitions or -k >= self.partitions:
                w[:] = 0.0
            elif k > 0:
                w[:, :-k] = w[:, k:].copy()
                w[:, -k:] = 0.0
            elif k < 0:
                w[:, -k:] = w[:, :k].copy()
                w[:, :-k] = 0.0

    def process(
        self, spectra: np.ndarray, power: np.ndarray, mic: np.ndarray, adapt: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """One block. ``spectra`` [partitions, bins]: the reference's 2-block spectra, newest
        first, ``power`` their squared magnitudes; ``mic`` [rows, block]. Returns (error,
        echo estimate), [rows, block] each."""
        b = self.block
        y_fg = scipy.fft.irfft(np.einsum("rpk,pk->rk", self.w_fg, spectra), n=self.n_fft)[:, b:]
        e_fg = mic - y_fg
        if not adapt:
            self.uncertainty = np.zeros((self.rows, self.bins), dtype=np.float32)
            return e_fg, y_fg
        y_bg = scipy.fft.irfft(np.einsum("rpk,pk->rk", self.w_bg, spectra), n=self.n_fft)[:, b:]
        e_bg = mic - y_bg
        padded = np.zeros((self.rows, self.n_fft), dtype=np.float32)
        padded[:, b:] = e_bg
        err = scipy.fft.rfft(padded)
        # frequency-domain Kalman update (Enzner & Vary 2006; Kuech et al. 2014): the step
        # per bin and partition is the coefficient uncertainty over the error power, so
        # it is large at the start (fast convergence) and small when the error is the
        # streamer's voice (double talk), with no separate detector
        xp = power  # [partitions, bins]
        e_pow = err.real**2 + err.imag**2
        self._noise = NOISE_SMOOTH * self._noise + (1 - NOISE_SMOOTH) * e_pow
        p = self._p
        # the echo the filter's coefficient uncertainty leaves, per bin: the Kalman
        # filter's own residual-echo estimate (Enzner & Vary 2006), for the suppressor
        self.uncertainty = np.einsum("rpk,pk->rk", p, xp) * 0.5
        denom = self.uncertainty + self._noise + 1e-10
        mu = p / denom[:, None, :]
        grad = (mu * err[:, None, :]) * np.conj(spectra)[None]
        # gradient constraint: each partition's update must stay a block-long impulse
        # response (constraining only some partitions per block, as Speex does, lost
        # 4-8 dB of ERLE here)
        g = scipy.fft.irfft(grad, n=self.n_fft)
        g[..., b:] = 0.0
        self.w_bg += scipy.fft.rfft(g)
        w2 = self.w_bg.real**2 + self.w_bg.imag**2
        self._p = A2 * (1.0 - 0.5 * mu * xp[None]) * p + (1 - A2) * w2 + self._floor
        self._compare(mic, e_fg, e_bg)
        return e_fg, y_fg

    def _compare(self, mic: np.ndarray, e_fg: np.ndarray, e_bg: np.ndarray) -> None:
        s = SMOOTH
        self._mic = s * self._mic + (1 - s) * np.einsum("rn,rn->r", mic, mic)
        self._e_fg = s * self._e_fg + (1 - s) * np.einsum("rn,rn->r", e_fg, e_fg)
        self._e_bg = s * self._e_bg + (1 - s) * np.einsum("rn,rn->r", e_bg, e_bg)
        audible = self._e_fg > self.block * 1e-7  # above a -70 dBFS floor
        better = (self._e_bg < COPY_RATIO * self._e_fg) & audible
        if better.any():
            self.w_fg[better] = self.w_bg[better]
            self._e_fg[better] = self._e_bg[better]
            self.copies += int(better.sum())
        worse = self._e_bg > DIVERGED * np.maximum(self._mic, self._e_fg)
        if worse.any():
            self.w_bg[worse] = self.w_fg[worse]
            self._e_bg[worse] = self._e_fg[worse]
