"""The speech gate applied to any stage's gain: floor while talking, deeper in pauses.

Per hop it decides "speech" from Silero's probability (when the VAD model runs) and from a
fast detector (the speech-band SNR after the gain), steps the grace/release gate, floors
every bin at ``speech_db`` and takes pauses down by up to ``strength_db - speech_db`` more.
A complex gain (a stage that returns a spectrum) is gated on its magnitude; its phase stays.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from jump.denoise.vad import SpeechGate
from jump.probe import Probe

SPEECH_BAND_HZ = (200.0, 4000.0)
FAST_SNR = 10.0  # speech-band SNR after the gain that counts as speech within one hop


class HopGate:
    """Gate state for one stream of hops (``hop`` samples each at ``sample_rate``)."""

    def __init__(self, hop: int, sample_rate: int) -> None:
        self.hop = hop
        self.sample_rate = sample_rate
        self._gate = SpeechGate(hop / sample_rate)
        self.speech_floor = 1.0
        self.pause_db = 0.0
        self.threshold = 0.5
        self.use_vad = False
        self._band = slice(0, 0)
        self.reset()

    def configure(
        self,
        speech_db: float,
        strength_db: float,
        threshold: float,
        grace_ms: float,
        release_ms: float,
        use_vad: bool,
    ) -> None:
        self.speech_floor = 10.0 ** (-speech_db / 20.0)
        self.pause_db = strength_db - speech_db
        self.threshold = threshold
        self.use_vad = use_vad
        self._gate.configure(grace_ms, release_ms)

    def set_bins(self, n_fft: int) -> None:
        hz = np.arange(n_fft // 2 + 1) * self.sample_rate / n_fft
        lo, hi = np.searchsorted(hz, SPEECH_BAND_HZ)
        self._band = slice(int(lo), int(hi))

    def reset(self) -> None:
        self._vad_ends: deque[int] = deque()
        self._vad_probs: deque[float] = deque()
        self._vad_p = 0.0
        self._gate.reset()

    def add_vad(self, ends: np.ndarray, probs: np.ndarray) -> None:
        """Silero decisions: the sample index each one ends at, and its probability."""
        self._vad_ends.extend(ends.tolist())
        self._vad_probs.extend(probs.tolist())

    def apply(
        self,
        power: np.ndarray,
        noise: np.ndarray,
        gain: np.ndarray,
        first_hop: int,
        probe: Probe | None = None,
        speech: np.ndarray | None = None,
    ) -> np.ndarray:
        """Gated gains [rows, hops, bins] (float32, or complex64 for a complex gain).

        ``first_hop`` is the stream index of the hop whose Silero decisions the first gain
        may read: the engine passes the newest analysed hop, so behind a stage with
        lookahead the gate already knows a word is coming. ``speech`` is a stage's own
        per-hop evidence of speech (bool), which holds the gate open as the fast detector does.
        """
        complex_gain = np.iscomplexobj(gain)
        gains = np.empty(power.shape, dtype=np.complex64 if complex_gain else np.float32)
        trace = probe.gate if probe is not None else None
        for t in range(power.shape[1]):
            p = power[:, t].astype(np.float64)
            column = gain[:, t]
            g = np.abs(column).astype(np.float64) if complex_gain else column.astype(np.float64)
            confirmed, fast = self._speech(p, noise[:, t], g, first_hop + t)
            if speech is not None and speech[t]:
                fast = True
            gate = self._gate.step(confirmed, fast)
            if trace is not None:
                trace.append((self._vad_p, fast, gate))
            if complex_gain:
                phase = np.where(g > 1e-12, column / np.maximum(g, 1e-12), 1.0)
            # No bin is cut by more than speech_db; in pauses the gate takes the whole frame
            # down by up to (strength_db - speech_db) more, with a smooth release.
            np.maximum(g, self.speech_floor, out=g)
            if gate < 1.0:
                g *= 10.0 ** (-(1.0 - gate) * self.pause_db / 20.0)
            gains[:, t] = phase * g if complex_gain else g
        return gains

    def _speech(
        self, power: np.ndarray, noise: np.ndarray, gain: np.ndarray, hop: int
    ) -> tuple[bool, bool]:
        """(Silero says speech, fast detector says speech) for the hop ending at ``hop``."""
        band = self._band
        g2 = gain[:, band] ** 2
        kept = float(np.vdot(g2, power[:, band]))
        fast = kept > FAST_SNR * float(np.vdot(g2, noise[:, band]))
        if not self.use_vad:
            return fast, fast
        end = (hop + 1) * self.hop
        while self._vad_ends and self._vad_ends[0] <= end:
            self._vad_ends.popleft()
            self._vad_p = self._vad_probs.popleft()
        return self._vad_p >= self.threshold, fast
