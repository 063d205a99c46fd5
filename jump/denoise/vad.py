"""Voice activity: Silero VAD streamed at 16 kHz.

Silero decides once per 32 ms chunk and only after the chunk has ended, so on its own it
opens late. The speech gate (``jump.denoise.gating.SpeechGate``) therefore also listens to a cheap per-hop detector (the engine's
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
