"""The denoisers Jump is compared with: RNNoise (through pyrnnoise's C library) and noisereduce.

Both are evaluation-only dependencies (requirements-dev.txt). Each returns output aligned
with its input, the same contract as ``python -m jump denoise``.
"""

from __future__ import annotations

import ctypes

import numpy as np

RNNOISE_RATE = 48000
RNNOISE_FRAME = 480
RNNOISE_LATENCY = 960  # measured: output frame k is input frame k - 2 (20 ms)


class RNNoise:
    """RNNoise on one mono 48 kHz stream, 10 ms frames through the C API (no resampling)."""

    def __init__(self) -> None:
        from pyrnnoise import rnnoise

        self._lib = rnnoise.lib
        self._state = rnnoise.create()
        self._frame = np.zeros(RNNOISE_FRAME, dtype=np.float32)
        self._ptr = self._frame.ctypes.data_as(ctypes.POINTER(ctypes.c_float))

    def __del__(self) -> None:
        state = getattr(self, "_state", None)
        if state is not None:
            self._lib.rnnoise_destroy(state)

    def process(self, x: np.ndarray) -> np.ndarray:
        """Whole signal in, aligned output of the same length (int16 scale inside, as RNNoise wants)."""
        n = x.size
        padded = np.zeros(-(-(n + RNNOISE_LATENCY) // RNNOISE_FRAME) * RNNOISE_FRAME, np.float32)
        padded[:n] = x * 32768.0
        out = np.empty_like(padded)
        for i in range(0, padded.size, RNNOISE_FRAME):
            self._frame[:] = padded[i : i + RNNOISE_FRAME]
            self._lib.rnnoise_process_frame(self._state, self._ptr, self._ptr)
            out[i : i + RNNOISE_FRAME] = self._frame
        return out[RNNOISE_LATENCY : RNNOISE_LATENCY + n] / 32768.0


def rnnoise(x: np.ndarray, rate: int) -> np.ndarray:
    if rate != RNNOISE_RATE:
        raise ValueError("RNNoise runs at 48 kHz only")
    return RNNoise().process(np.asarray(x, dtype=np.float32))


def noisereduce(x: np.ndarray, rate: int) -> np.ndarray:
    """noisereduce's default (non-stationary spectral gating), offline on the whole file."""
    import noisereduce as nr

    return nr.reduce_noise(y=np.asarray(x, dtype=np.float32), sr=rate).astype(np.float32)
