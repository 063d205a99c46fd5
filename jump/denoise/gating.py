"""The speech gate applied to any stage's gain: floor while talking, deeper in pauses.

Per hop it decides "speech" from Silero's probability (when the VAD model runs) and from a
per-hop SNR detector (the speech-band SNR after the gain) and steps the grace/release gate
(``decide``); ``shape`` floors every bin at ``speech_db`` and takes pauses down by up to
``strength_db - speech_db`` more; then the dry/wet mix and the monitor. With an onset
look-ahead a hop's gate value applies to a frame up to 60 ms older, so the gate is open
before a word starts.
A complex gain (a stage that returns a spectrum) is gated on its magnitude; its phase stays.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from jump.denoise.settings import DenoiseSettings
from jump.denoise.stft import HopDelay
from jump.probe import Probe

SPEECH_BAND_HZ = (200.0, 4000.0)
FAST_SNR = 10.0  # speech-band SNR after the gain that counts as speech within one hop


class SpeechGate:
    """The speech gate of one stream of hops (``hop`` samples each at ``sample_rate``):
    decides speech per hop, steps its ``HoldRelease`` envelope and shapes the gains."""

    def __init__(self, hop: int, sample_rate: int) -> None:
        self.hop = hop
        self.sample_rate = sample_rate
        self._envelope = HoldRelease(hop / sample_rate)
        self.speech_floor = 1.0
        self.pause_db = 0.0
        self.threshold = 0.5
        self.use_vad = False
        self.mix = 1.0
        self.removed = False
        self.onset = 0  # hops of onset look-ahead
        self._band = slice(0, 0)
        self.reset()

    def configure(self, s: DenoiseSettings, use_vad: bool) -> None:
        """Take the gate's share of the (sanitised) settings."""
        self.speech_floor = 10.0 ** (-s.speech_db / 20.0)
        self.pause_db = s.strength_db - s.speech_db
        self.threshold = s.vad_threshold
        self.use_vad = use_vad
        self.mix = s.mix
        self.removed = s.monitor == "removed"
        self.onset = round(s.lookahead_ms * 1e-3 * self.sample_rate / self.hop)
        # Applied `onset` hops late, the holds must last that much longer for the gate to
        # stay open as long after the last speech as without look-ahead.
        extra_ms = 1e3 * self.onset * self.hop / self.sample_rate
        self._envelope.configure(s.grace_ms + extra_ms, s.release_ms, SHORT_HOLD_MS + extra_ms)

    def set_bins(self, n_fft: int) -> None:
        hz = np.arange(n_fft // 2 + 1) * self.sample_rate / n_fft
        lo, hi = np.searchsorted(hz, SPEECH_BAND_HZ)
        self._band = slice(int(lo), int(hi))

    def reset(self) -> None:
        self._vad_ends: deque[int] = deque()
        self._vad_probs: deque[float] = deque()
        self._vad_p = 0.0
        self._envelope.reset()
        self._late_values = HopDelay(0)
        self._recent: np.ndarray | None = None  # the last `onset` hops of stage gains

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
        """The gains to apply [rows, hops, bins] (float32, or complex64 for a complex gain).

        ``first_hop`` is the stream index of the hop whose Silero decisions the first gain
        may read: the engine passes the newest analysed hop, so behind a stage with
        lookahead the gate already knows a word is coming. ``speech`` is a stage's own
        per-hop evidence of speech (bool), which holds the gate open as the per-hop SNR detector
        does. With an onset look-ahead the result belongs to the frames ``onset`` hops
        older: the engine delays the dry frames by as much.
        """
        values = self.decide(power, noise, gain, first_hop, probe, speech)
        if self.onset:
            # the gate value decided from these frames' evidence applies to the frames
            # `onset` hops older, so the gate is open before a word starts
            if self._late_values.lag != self.onset:
                self._late_values, self._recent = HopDelay(self.onset), None
            gain = self._onset_peak(gain)
            values = self._late_values(values[None, :, None])[0, :, 0]
        gains = self.shape(gain, values)
        if self.mix < 1.0:
            gains = self.mix * gains + (1.0 - self.mix)
        if self.removed:
            # Monitor "removed": what the gains take away. Gain 1 reconstructs the delayed
            # input and the overlap-add is linear, so this + the output = the delayed input.
            gains = 1.0 - gains
        return gains

    def _onset_peak(self, gain: np.ndarray) -> np.ndarray:
        """The gains ``onset`` hops late, each bin raised to its peak over the look-ahead.

        A causal mask is slow to trust a word's first consonant (NSNet2 still cuts it by
        15-20 dB), so an opening gate alone does not save it: frame t takes, per bin, the
        largest gain of frames t..t+onset. A complex gain keeps its phase.
        """
        e = self.onset
        r = self._recent
        if r is None or r.shape[0] != gain.shape[0] or r.shape[2] != gain.shape[2]:
            r = np.zeros((gain.shape[0], e, gain.shape[2]), dtype=gain.dtype)
        joined = np.concatenate([r.astype(gain.dtype), gain], axis=1)
        self._recent = joined[:, -e:].copy()
        late = joined[:, : gain.shape[1]]
        # Peaks are capped at 1: a deep filter's complex gain can exceed 1 in one frame
        # (it mixes several frames), which must not amplify a neighbour.
        mag = np.minimum(np.abs(joined), 1.0)
        peak = np.lib.stride_tricks.sliding_window_view(mag, e + 1, axis=1)
        peak = peak[:, : gain.shape[1]].max(axis=-1)
        own = np.abs(late)
        raised = np.maximum(own, peak)  # never lowers a frame's own gain
        if not np.iscomplexobj(late):
            return raised.astype(late.dtype)
        return np.where(own > 1e-12, late * (raised / np.maximum(own, 1e-12)), raised).astype(
            late.dtype
        )

    def decide(
        self,
        power: np.ndarray,
        noise: np.ndarray,
        gain: np.ndarray,
        first_hop: int,
        probe: Probe | None = None,
        speech: np.ndarray | None = None,
    ) -> np.ndarray:
        """Gate values [hops] in 0..1 from the speech evidence of these frames (see apply)."""
        values = np.empty(power.shape[1], dtype=np.float64)
        trace = probe.gate if probe is not None else None
        complex_gain = np.iscomplexobj(gain)
        for t in range(power.shape[1]):  # the gate is recursive: one step per hop
            column = gain[:, t]
            g = np.abs(column) if complex_gain else column
            confirmed, fast = self._speech(
                power[:, t].astype(np.float64), noise[:, t], g.astype(np.float64), first_hop + t
            )
            if speech is not None and speech[t]:
                fast = True
            values[t] = self._envelope.step(confirmed, fast)
            if trace is not None:
                trace.append((self._vad_p, fast, values[t]))
        return values

    def shape(self, gain: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Gated gains [rows, hops, bins] (float32, or complex64 for a complex gain).

        No bin is cut by more than speech_db; in pauses (gate value < 1) the whole frame
        goes down by up to (strength_db - speech_db) more, with a smooth release. A complex
        gain keeps its phase.
        """
        pause = 10.0 ** (-(1.0 - values) * self.pause_db / 20.0)  # 1.0 while the gate is open
        if np.iscomplexobj(gain):
            g = np.abs(gain).astype(np.float64)
            phase = np.where(g > 1e-12, gain / np.maximum(g, 1e-12), 1.0)
            out = phase * (np.maximum(g, self.speech_floor) * pause[None, :, None])
            return out.astype(np.complex64)
        g = np.maximum(gain.astype(np.float64), self.speech_floor)
        return (g * pause[None, :, None]).astype(np.float32)

    def _speech(
        self, power: np.ndarray, noise: np.ndarray, gain: np.ndarray, hop: int
    ) -> tuple[bool, bool]:
        """(Silero says speech, per-hop SNR detector says speech) for the hop ending at ``hop``."""
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


SHORT_HOLD_MS = 60.0  # hold after a fast-detector trigger alone (a click, a breath)


class HoldRelease:
    """The speech gate's envelope: a value per hop in [0, 1] that opens at once, holds for
    the grace period, then releases.

    A trigger from the per-hop SNR detector alone (no Silero confirmation) holds only ``short_hold``
    hops, so a keyboard click opens the gate for a moment rather than for the whole grace.
    """

    def __init__(self, hop_s: float) -> None:
        self.hop_s = hop_s
        self.value = 0.0
        self._hold = 0
        self.configure(200.0, 80.0)

    def configure(
        self, grace_ms: float, release_ms: float, short_hold_ms: float = SHORT_HOLD_MS
    ) -> None:
        self._grace = round(grace_ms / 1000.0 / self.hop_s)
        self._short = min(self._grace, round(short_hold_ms / 1000.0 / self.hop_s))
        self._release = math.exp(-self.hop_s * 1000.0 / max(release_ms, 1.0))

    def reset(self) -> None:
        self.value = 0.0
        self._hold = 0

    def step(self, confirmed: bool, fast: bool) -> float:
        if confirmed:
            self._hold = self._grace
            self.value = 1.0
        elif fast:
            self._hold = max(self._hold, self._short)
            self.value = 1.0
        elif self._hold > 0:
            self._hold -= 1
            self.value = 1.0
        else:
            self.value *= self._release
        return self.value
