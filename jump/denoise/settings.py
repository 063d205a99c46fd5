"""User-facing settings of the denoiser, in physical units, with streamer-safe defaults."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

METHODS = ("classical", "neural", "both")


@dataclass(frozen=True)
class DenoiseSettings:
    """What the OBS properties and the CLI flags set.

    method:        "classical" (noise tracker + Wiener gain), "neural" (ONNX mask model) or
                   "both" (the model's mask steers the classical noise tracker; gains combined).
    strength_db:   largest attenuation of any bin, and of the whole signal in pauses (dB > 0).
    speech_db:     largest attenuation while voice is present: less than ``strength_db`` keeps
                   the voice natural (robotic voice is the complaint users make most).
    mix:           dry/wet, 0 = input only, 1 = fully processed.
    vad_threshold: speech probability (0..1) above which the gate opens.
    grace_ms:      how long the gate stays open after the last speech frame.
    release_ms:    time constant of the gate closing (attack is immediate, one hop).
    linked:        one gain for all channels (cheaper, keeps the stereo image) or per channel.
    neural_model:  manifest id of the mask model.
    vad_model:     manifest id of the VAD model; "" uses only the energy detector.
    """

    method: str = "both"
    strength_db: float = 40.0
    speech_db: float = 30.0
    mix: float = 1.0
    vad_threshold: float = 0.5
    grace_ms: float = 200.0
    release_ms: float = 80.0
    linked: bool = True
    neural_model: str = "nsnet2-48k-int8"
    vad_model: str = "silero-vad"

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
        )
