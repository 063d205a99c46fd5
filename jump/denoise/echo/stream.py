"""The echo canceller as the engine holds it: a reference buffer beside the mic's.

The engine keeps its input in a buffer that frames read from (``window - hop`` samples
of history, then the hops not processed yet). The reference is written into a twin
buffer at the same indices and moved with it, so hop for hop it lines up with the mic
whatever the chunk sizes. Before framing, the new hops of the mic buffer are replaced
in place by the canceller's error: everything after (noise tracker, neural stage, gate)
sees the mic with the linear echo removed. The echo estimate goes into a third buffer
framed like the mic, and its power drives the residual-echo gain.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.fft

from jump.denoise.echo.canceller import LinearCanceller
from jump.denoise.echo.suppress import ResidualEcho

Warn = Callable[[str, str], None]


def as_mono(ref: object, n: int, warn: Warn) -> np.ndarray | None:
    """A reference chunk (mono, planar [channels, m] or interleaved-free 1-D) as mono
    float32 of exactly ``n`` samples; None when it is unusable."""
    try:
        r = np.asarray(ref, dtype=np.float32)
    except (TypeError, ValueError):
        warn("ref-type", "reference is not audio; ignoring it")
        return None
    if r.ndim == 2:
        r = r.mean(axis=0) if r.shape[0] > 0 else np.zeros(0, np.float32)
    elif r.ndim != 1:
        warn("ref-shape", f"reference of shape {r.shape} ignored")
        return None
    if r.size != n:
        warn("ref-length", f"reference chunk of {r.size} samples for {n} mic samples: padded")
        r = np.concatenate([r[:n], np.zeros(max(0, n - r.size), np.float32)])
    if not np.isfinite(r).all():
        warn("ref-nan", "reference has NaN/Inf samples: zeroed")
        r = np.nan_to_num(r, nan=0.0, posinf=0.0, neginf=0.0)
    return r


class EchoPath:
    """Reference buffer, linear canceller and residual-echo gain for one engine."""

    def __init__(self, sample_rate: int, hop: int, channels: int, length: int) -> None:
        self.hop, self.channels = int(hop), int(channels)
        # one adaptive filter on the channels' mean, its estimate taken from every channel:
        # a "stereo" mic is one mic twice in practice, and a filter costs ~10 % of a core
        self.linear = LinearCanceller(sample_rate, hop, 1)
        self.ref = np.zeros(length, dtype=np.float32)
        self.echo = np.zeros((channels, length), dtype=np.float32)
        self._residual: ResidualEcho | None = None
        self._ref_bin = np.zeros(0, dtype=int)
        self._hop_s = hop / sample_rate
        self.refused = False  # the reference was the mic itself

    def reset(self) -> None:
        self.ref[:] = 0.0
        self.echo[:] = 0.0
        self.linear.reset()
        if self._residual is not None:
            self._residual.reset()

    def write(self, ref: np.ndarray | None, start: int, mic: np.ndarray) -> None:
        """Reference samples for the mic samples just written at ``start``."""
        m = mic.shape[1]
        if ref is None or self.refused:
            self.ref[start : start + m] = 0.0
            return
        if m and np.array_equal(ref, mic.mean(axis=0)) and np.any(ref):
            # cancelling the mic against itself would remove the streamer's voice
            self.refused = True
            self.ref[start : start + m] = 0.0
            return
        self.ref[start : start + m] = ref

    def keep(self, offset: int, fill: int) -> None:
        """The engine moved ``[offset, fill)`` of its buffer to the front."""
        self.ref[: fill - offset] = self.ref[offset:fill]
        self.echo[:, : fill - offset] = self.echo[:, offset:fill]

    def cancel(self, buffer: np.ndarray, history: int, hops: int) -> None:
        """Replace the new hops of the engine's buffer by the error, keep the estimate."""
        a, b = history, history + hops * self.hop
        mono = buffer[:, a:b].mean(axis=0, keepdims=True)
        _, est = self.linear.process(mono, self.ref[a:b])
        buffer[:, a:b] -= est
        self.echo[:, a:b] = est

    def gains(
        self,
        frames: Callable[[np.ndarray], np.ndarray],
        error_power: np.ndarray,
        linked: bool,
        error: np.ndarray,
    ) -> np.ndarray:
        """Echo gains [rows, hops, bins] for the frames the engine just analysed from its
        buffer ``error`` (the mic less the linear echo estimate)."""
        n_fft = 2 * (error_power.shape[-1] - 1)
        spec = scipy.fft.rfft(frames(self.echo), n=n_fft, axis=-1)
        err = scipy.fft.rfft(frames(error), n=n_fft, axis=-1)
        power = spec.real**2 + spec.imag**2
        if linked:
            power = power.mean(axis=0, keepdims=True)
            spec = spec.mean(axis=0, keepdims=True)
            err = err.mean(axis=0, keepdims=True)
        rows, _, bins = error_power.shape
        if self._residual is None or self._residual.rows != rows or self._residual.bins != bins:
            self._residual = ResidualEcho(rows, bins, self._hop_s)
            # the canceller's bins (2-hop spectra, hop + 1 bins) on the engine's
            ref_bins = self.hop + 1
            self._ref_bin = np.round(np.arange(bins) * (ref_bins - 1) / (bins - 1)).astype(int)
        unc = self.linear.uncertainty.mean(axis=1)  # [hops, bins]: one filter, any rows
        if unc.shape[-1] != bins:
            unc = unc[:, self._ref_bin]
        return self._residual(error_power, power, unc, err * np.conj(spec))
