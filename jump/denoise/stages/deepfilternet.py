"""The ``deepfilternet3`` stage: DeepFilterNet3 streaming in Jump's engine (``dfn3.Dfn3``).

It asks the engine for DeepFilterNet's framing: the Vorbis window over the engine's 20 ms
window and an FFT of the same length, so bins are 50 Hz apart at every rate whose hop is
10 ms (960 at 48 kHz, DeepFilterNet's own; 882 at 44.1 kHz gives the same bins up to
22.05 kHz and the model's top bins stay zero). Spectra are scaled by DeepFilterNet's
``wnorm`` on the way in and back on the way out. The stage returns the enhanced complex
spectrum two hops late (DeepFilterNet3's lookahead); the engine delays the dry signal and
the gate to match, and the OBS latency grows by those 20 ms.

Strength is DeepFilterNet's attenuation limit (``atten_lim``), so at most that much is
taken from any bin; the engine's gate, floor, dry/wet and linking apply on top as for
every stage.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jump.catalogue import ModelEntry
from jump.denoise.dfn3 import Dfn3, Dfn3Config
from jump.denoise.stages import Stage, StageContext, StageInput, StageOutput, register
from jump.denoise.stft import Framing

# DeepFilterNet3's local SNR estimate spans -15..35 dB; on the eval mixtures pauses stay
# under -12 dB in 95 % of hops while speech is above it in most; as extra speech evidence
# for the gate it took SI-SDR +0.04 dB and PESQ +0.05 over the gate without it.
LSNR_SPEECH_DB = -12.0


@register("deepfilternet3")
class DeepFilterNet3Stage(Stage):
    needs_spectrum = True

    def __init__(self, ctx: StageContext, entry: ModelEntry, core: Dfn3) -> None:
        self.name = entry.id
        self.core = core
        self.lookahead_hops = core.lookahead
        # DeepFilterNet's analysis scale for this window: 2 hop / window^2.
        self._wnorm = np.float32(2.0 * ctx.hop / float(ctx.window) ** 2)
        self._model_bins = core.cfg.bins
        self._lsnr = np.full(self.lookahead_hops, -100.0, dtype=np.float32)

    @classmethod
    def framing(cls, entry: ModelEntry | None, sample_rate: int, window: int) -> Framing:
        return Framing("vorbis", window)

    @classmethod
    def create(
        cls, ctx: StageContext, entry: ModelEntry | None, path: Path | None
    ) -> DeepFilterNet3Stage:
        if entry is None or path is None:
            raise ValueError("the deepfilternet3 stage needs its model")
        cfg = Dfn3Config.from_spec(entry.spec)
        core = Dfn3(path, cfg, channels=ctx.rows, linked=False, provider=ctx.provider)
        return cls(ctx, entry, core)

    @property
    def rows(self) -> int:
        return self.core.channels

    def configure(self, strength_db: float) -> None:
        """The user's strength is DeepFilterNet's attenuation limit."""
        self.core.set_atten_lim(strength_db)

    def resize(self, rows: int) -> None:
        self.core.configure(rows, linked=False)

    def reset(self) -> None:
        self.core.reset()
        self._lsnr = np.full(self.lookahead_hops, -100.0, dtype=np.float32)

    def realtime_factor(self) -> float:
        """CPU seconds per audio second on this machine, measured now (resets the state)."""
        return self.core.realtime_factor()

    def __call__(self, block: StageInput) -> StageOutput:
        spec = block.spectrum
        assert spec is not None
        n = min(spec.shape[2], self._model_bins)
        out = np.zeros(spec.shape, dtype=np.complex64)
        # Above 24 kHz (rates over 48 kHz) the model has no bins: those stay silent.
        out[:, :, :n] = self.core.process(spec[:, :, :n] * self._wnorm) / self._wnorm
        # DeepFilterNet's local SNR of each new frame; the frame coming out now (L hops
        # back) counts as speech if any frame from it to the newest says so.
        lsnr = np.concatenate((self._lsnr, self.core.lsnr_hops))
        self._lsnr = lsnr[len(lsnr) - self.lookahead_hops :]
        ahead = np.lib.stride_tricks.sliding_window_view(lsnr, self.lookahead_hops + 1)
        return StageOutput(spectrum=out, speech=ahead.max(axis=1) > LSNR_SPEECH_DB)
