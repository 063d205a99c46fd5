"""User-facing settings of the denoiser, in physical units, with streamer-safe defaults."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from jump.defaults import DEFAULT_DENOISE_MODEL, DEFAULT_VAD_MODEL

METHODS = ("classical", "neural", "both")
MONITORS = ("output", "removed")
MAX_LOOKAHEAD_MS = 60.0  # onset look-ahead: each 10 ms adds one hop of latency


@dataclass(frozen=True)
class DenoiseSettings:
    """What the OBS properties and the CLI flags set (defaults measured, see docs/denoise.md).

    method:        "neural" (ONNX mask model; the default, best measured quality),
                   "classical" (SPP noise tracker + decision-directed LSA gain; no model needed)
                   or "both" (the model's mask, then a classical post-filter that trims the
                   stationary residual by at most 3 dB).
    strength_db:   largest total attenuation: what pauses fall to when the gate is closed.
    speech_db:     largest attenuation of any bin while the gate is open (speech); the gate
                   takes pauses the rest of the way to ``strength_db``. Clamped to strength_db.
    mix:           dry/wet, 0 = input only (delayed), 1 = fully processed.
    vad_threshold: Silero speech probability (0..1) above which the gate opens.
    grace_ms:      how long the gate stays open after the last speech decision.
    release_ms:    time constant of the gate closing (it opens at once, within one hop).
    linked:        one gain for all channels (one inference, keeps the stereo image) or one
                   per channel.
    neural_model:  a manifest id: "nsnet2-48k-int8" (20 ms latency), "deepfilternet3" (best
                   quality, 40 ms), "nsnet2-48k" (NSNet2 in float); or "auto" (the OBS
                   filter's default): DeepFilterNet3 if this machine runs it with margin,
                   measured at start, else NSNet2 (jump/denoise/auto.py).
    vad_model:     manifest id of the VAD model; "" uses only the per-hop SNR detector.
    monitor:       "output" (the denoised voice) or "removed" (what the denoiser takes
                   away: the latency-aligned input minus the output), to hear whether
                   speech leaks into the removed part. For listening only, never a stream.
    lookahead_ms:  onset look-ahead (0 = off, else 10-60 ms, in whole 10 ms hops): the gate's
                   decision for a hop may use speech evidence up to this much later, so a
                   word's first consonant is not gated; the audio is delayed by as much and
                   the latency grows by it.
    provider:      ONNX Runtime provider of the model stage ("cpu" default; "cuda", "dml"...).

    Without look-ahead the 20 ms latency budget is spent on the STFT window, whose newest
    half already lets each frame's gain see 10 ms past the samples it completes; the onset
    look-ahead is the opt-in "retroactive grace" that trades latency for clean word starts.
    """

    method: str = "neural"
    strength_db: float = 50.0
    speech_db: float = 40.0
    mix: float = 1.0
    vad_threshold: float = 0.5
    grace_ms: float = 200.0
    release_ms: float = 80.0
    linked: bool = True
    neural_model: str = DEFAULT_DENOISE_MODEL
    vad_model: str = DEFAULT_VAD_MODEL
    monitor: str = "output"
    lookahead_ms: float = 0.0
    provider: str = "cpu"

    def sanitised(self) -> DenoiseSettings:
        """A copy with every field forced into its valid range (the OBS layer passes raw UI values)."""

        def num(value: object, default: float, lo: float, hi: float) -> float:
            try:
                v = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return default
            return default if not math.isfinite(v) else min(hi, max(lo, v))

        base = DenoiseSettings()
        method = self.method if self.method in METHODS else base.method
        strength = num(self.strength_db, base.strength_db, 0.0, 80.0)
        return replace(
            self,
            method=method,
            strength_db=strength,
            speech_db=min(strength, num(self.speech_db, base.speech_db, 0.0, 80.0)),
            mix=num(self.mix, base.mix, 0.0, 1.0),
            vad_threshold=num(self.vad_threshold, base.vad_threshold, 0.0, 1.0),
            grace_ms=num(self.grace_ms, base.grace_ms, 0.0, 5000.0),
            release_ms=num(self.release_ms, base.release_ms, 1.0, 5000.0),
            linked=bool(self.linked),
            neural_model=str(self.neural_model or base.neural_model),
            vad_model=str(self.vad_model or ""),
            monitor=self.monitor if self.monitor in MONITORS else base.monitor,
            lookahead_ms=num(self.lookahead_ms, base.lookahead_ms, 0.0, MAX_LOOKAHEAD_MS),
            provider=str(self.provider or "cpu"),
        )
