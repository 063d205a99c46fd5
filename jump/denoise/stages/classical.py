"""The model-free stages: a decision-directed LSA gain, and the post-filter used after a model.

``classical`` computes its gain from the engine's noise PSD (the same SPP tracker the gate's
per-hop SNR detector reads). ``classical-post`` trims the stationary residual a model leaves: it
tracks the noise of the model's output with its own tracker, and its floor keeps it from
removing more than 3 dB or adding artefacts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from jump.denoise.gain import DecisionDirectedGain
from jump.denoise.noise import NoiseTracker
from jump.denoise.stages import Stage, StageContext, StageInput, StageOutput, register
from jump.denoise.stft import Framing, default_framing

if TYPE_CHECKING:
    from pathlib import Path

    from jump.catalogue import ModelEntry

POST_FLOOR = 0.7  # the post-filter removes at most 3 dB


class _ModelFree(Stage):
    """Shared plumbing: no model, no lookahead, state sized [rows, bins]."""

    lookahead_hops = 0
    needs_spectrum = False

    def __init__(self, ctx: StageContext) -> None:
        self._ctx = ctx
        self.rows = ctx.rows
        self.reset()

    @classmethod
    def framing(cls, entry: ModelEntry | None, sample_rate: int, window: int) -> Framing:
        return default_framing(window)

    @classmethod
    def create(cls, ctx: StageContext, entry: ModelEntry | None = None, path: Path | None = None):
        return cls(ctx)

    def resize(self, rows: int) -> None:
        self.rows = rows
        self.reset()

    def reset(self) -> None:
        raise NotImplementedError


@register("classical")
class ClassicalGain(_ModelFree):
    """Decision-directed LSA gain on the engine's noise estimate."""

    name = "classical"

    def reset(self) -> None:
        self._dd = DecisionDirectedGain(self.rows, self._ctx.bins)

    def __call__(self, block: StageInput) -> StageOutput:
        gains = np.empty(block.power.shape, dtype=np.float64)
        # the a-priori SNR is recursive over hops: one hop at a time
        for t in range(block.power.shape[1]):
            gains[:, t] = self._dd(block.power[:, t].astype(np.float64), block.noise[:, t])
        return StageOutput(gain=gains)


@register("classical-post")
class ClassicalPostFilter(_ModelFree):
    """A classical gain on what the previous stage kept, floored at ``POST_FLOOR``."""

    name = "classical"

    def reset(self) -> None:
        self._tracker = NoiseTracker(self.rows, self._ctx.bins, self._ctx.hop_s)
        self._dd = DecisionDirectedGain(self.rows, self._ctx.bins)

    def __call__(self, block: StageInput) -> StageOutput:
        if block.gain is None:
            raise ValueError("classical-post needs a previous stage's gain")
        gains = np.empty(block.power.shape, dtype=np.float64)
        for t in range(block.power.shape[1]):
            g = block.gain[:, t].astype(np.float64)
            residual = g * g * block.power[:, t].astype(np.float64)
            post = self._dd(residual, self._tracker.update(residual))
            g *= np.maximum(post, POST_FLOOR)
            gains[:, t] = g
        return StageOutput(gain=gains)
