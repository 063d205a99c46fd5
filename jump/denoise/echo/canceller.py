"""Linear echo canceller at the engine's hop: reference history, bulk delay, adaptive filter.

Per hop the reference's newest two hops are transformed once and kept in a ring of
spectra, indexed by how many hops ago they ended; the adaptive filter reads
``partitions`` consecutive entries starting ``margin`` hops before the estimated bulk
delay, so a delay change moves where it reads (and its taps, see ``Pbfdaf.shift``)
without recomputing anything. The delay estimate needs about a second of the reference
playing; until then the mic passes unchanged (the error is the mic, the estimate zero).
Clock drift between the reference device and the mic shows as a slowly moving peak:
the filter tracks it within its margin and the estimator moves the window when it
leaves it.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.fft

from jump.denoise.echo.delay import DelayEstimator
from jump.denoise.echo.pbfdaf import Pbfdaf

log = logging.getLogger("jump.denoise")

MAX_DELAY_S = (
    0.75  # echo delays up to 500 ms behind OBS's 250 ms read-ahead (audio_capture.LEAD_NS)
)
FILTER_S = 0.25
MARGIN_HOPS = 2  # the filter starts this much before the estimated delay
LIVE_DBFS = -65.0  # a reference hop quieter than this is silence
# the filter's initial uncertainty, in mic-to-reference power ratios: larger converges
# (and suppresses) faster in the first seconds (measured rooms: ERLE 33.7-36.6 dB over 2-16)
P_START = 4.0


class LinearCanceller:
    """Feed mic hops [rows, hops*hop] with the reference hops [hops*hop] at the same
    instants; returns (error, echo estimate), both [rows, hops*hop]."""

    def __init__(self, sample_rate: int, hop: int, rows: int) -> None:
        self.sample_rate, self.hop, self.rows = int(sample_rate), int(hop), int(rows)
        self.max_lag = int(np.ceil(MAX_DELAY_S * sample_rate / hop))
        self.partitions = max(4, int(np.ceil(FILTER_S * sample_rate / hop)))
        self.filter = Pbfdaf(self.rows, self.hop, self.partitions)
        self.delay = DelayEstimator(sample_rate, hop, MAX_DELAY_S)
        self._ring_len = self.max_lag + self.partitions + 1
        self.reset()

    def reset(self) -> None:
        h = self.hop
        self._ring = np.zeros((self._ring_len, h + 1), dtype=np.complex64)
        self._ring_power = np.zeros((self._ring_len, h + 1), dtype=np.float32)
        self._live = np.zeros(self._ring_len, dtype=bool)
        self._head = 0  # ring index of the newest spectrum
        self._last_ref = np.zeros(h, dtype=np.float32)
        self._power = np.zeros(2)  # mic, reference: sums until the delay is found
        self._start: int | None = None  # ring offset of partition 0 (hops ago)
        self.uncertainty = np.zeros((0, self.rows, h + 1), dtype=np.float32)
        self.filter.reset()
        self.delay.reset()

    @property
    def delay_ms(self) -> float | None:
        """The bulk delay in use, or None before one is found."""
        d = self.delay.delay_samples
        return None if d is None else 1000.0 * d / self.sample_rate

    def process(self, mic: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = self.hop
        hops = mic.shape[1] // h
        err = np.empty((self.rows, hops * h), dtype=np.float32)
        # per hop, the echo power the filter may still miss (zero before a delay is found)
        self.uncertainty = np.zeros((hops, self.rows, h + 1), dtype=np.float32)
        echo = np.zeros((self.rows, hops * h), dtype=np.float32)
        # fresh copies: SIMD rounding depends on alignment, and a view's alignment on how
        # the caller chunked its pushes; the filter's thresholds would amplify the difference
        mic = np.array(mic, dtype=np.float32)
        ref = np.array(ref, dtype=np.float32)
        for t in range(hops):
            d = mic[:, t * h : (t + 1) * h]
            x = ref[t * h : (t + 1) * h]
            err[:, t * h : (t + 1) * h], echo[:, t * h : (t + 1) * h] = self._hop(d, x)
            if self._start is not None:
                self.uncertainty[t] = self.filter.uncertainty
        return err, echo

    def _hop(self, d: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = self.hop
        seg = np.concatenate([self._last_ref, x])
        self._last_ref = x
        self._head = (self._head + 1) % self._ring_len
        spec = scipy.fft.rfft(seg)
        self._ring[self._head] = spec
        self._ring_power[self._head] = spec.real**2 + spec.imag**2
        xx = float(np.dot(x, x))
        level = 10.0 * np.log10(xx / h + 1e-20)
        if self._start is None:
            self._power += (float(np.einsum("rn,rn->", d, d)) / self.rows, xx)
        self._live[self._head] = level > LIVE_DBFS
        if self.delay.update(d.mean(axis=0), x):
            self._move(max(0, self.delay.delay_samples // h - MARGIN_HOPS))
        if self._start is None:
            return d, np.zeros_like(d)
        idx = (self._head - self._start - np.arange(self.partitions)) % self._ring_len
        adapt = bool(self._live[idx].any())
        return self.filter.process(self._ring[idx], self._ring_power[idx], d, adapt)

    def _move(self, start: int) -> None:
        if self._start is None:
            mic, ref = self._power
            self.filter.start(P_START * mic / max(ref, 1e-12))
        elif start != self._start:
            log.info("denoise: echo delay now %.0f ms", self.delay_ms)
            self.filter.shift(start - self._start)
        self._start = start
