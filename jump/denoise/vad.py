"""Voice activity: Silero VAD streamed at 16 kHz, and the gate that turns decisions into gain.

Silero decides once per 32 ms chunk and only after the chunk has ended, so on its own it
opens late. The gate therefore also listens to a cheap per-hop detector (the engine's
speech-band SNR after the spectral gain) that reacts within one 10 ms hop; Silero is the
one that keeps the gate open through quiet syllables and rejects bursts of non-speech.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from jump.denoise.resample import StreamingResampler

VAD_RATE = 16000
CHUNK = 512
CONTEXT = 64  # Silero v5+ expects the last 64 samples of the previous chunk in front


class SileroVad:
    """Speech probability per 32 ms chunk of a mono stream at ``sample_rate``."""

    def __init__(self, path: Path, sample_rate: int) -> None:
        from jump.sessions import create_session

        self._session = create_session(path, threads=1)
        self._resampler = StreamingResampler(sample_rate, VAD_RATE)
        self._rate = sample_rate
        self._buf = np.zeros(CONTEXT + CHUNK, dtype=np.float32)
        self._fill = CONTEXT
        self._feeds = {
            "input": np.zeros((1, CONTEXT + CHUNK), dtype=np.float32),
            "state": np.zeros((2, 1, 128), dtype=np.float32),
            "sr": np.array(VAD_RATE, dtype=np.int64),
        }
        self._chunks = 0
        self.latest = 0.0

    def reset(self) -> None:
        self._resampler.reset()
        self._buf[:] = 0.0
        self._fill = CONTEXT
        self._feeds["state"] = np.zeros((2, 1, 128), dtype=np.float32)
        self._chunks = 0
        self.latest = 0.0

    def feed(self, mono: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Feed input-rate samples; returns (end of each finished chunk in input samples, prob)."""
        x = self._resampler.process(mono)
        ends: list[int] = []
        probs: list[float] = []
        pos = 0
        while pos < x.size:
            take = min(CHUNK + CONTEXT - self._fill, x.size - pos)
            self._buf[self._fill : self._fill + take] = x[pos : pos + take]
            self._fill += take
            pos += take
            if self._fill == CHUNK + CONTEXT:
                self._feeds["input"][0] = self._buf
                prob, state = self._session.run(None, self._feeds)
                self._feeds["state"] = state
                self._chunks += 1
                p = float(prob.reshape(-1)[0])
                self.latest = p if math.isfinite(p) else 0.0
                ends.append(math.ceil(self._chunks * CHUNK * self._rate / VAD_RATE))
                probs.append(self.latest)
                self._buf[:CONTEXT] = self._buf[CHUNK:]
                self._fill = CONTEXT
        return np.asarray(ends, dtype=np.int64), np.asarray(probs)


SHORT_HOLD_MS = 60.0  # hold after a fast-detector trigger alone (a click, a breath)


class SpeechGate:
    """Gate value per hop in [0, 1]: opens at once, holds for the grace period, then releases.

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
