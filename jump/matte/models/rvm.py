"""Robust Video Matting (RVM): a matting network whose recurrent state carries the video.

RVM (Lin et al. 2021, MobileNetV3, GPL-3.0) takes the full work picture, shrinks it by
``downsample_ratio`` for its encoder/decoder (the *inner pass*) and brings alpha and
foreground colour back to the work size with its own deep guided filter. Its quality
follows the inner pass's resolution (docs/matte.md), so the ratio is chosen from the work
size: inner long side / work long side, never above 1.

The four recurrent states (``r1…r4``) are what makes it a video model. They belong to
one stream at one inner size, so ``RecurrentState`` forgets them when the inner size or
ratio changes, on a scene cut (the picture changed wholesale) and on request — the
worker requests it when the stream pauses for more than a second
(``jump.matte.worker.MAX_GAP_S``), the filter on a source resolution change. A fresh state has seen nothing, so the first picture after a
reset runs ``warmup_passes`` times: a still (CLI image, screenshot) gets the settled
result a video reaches after a few frames.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from jump.matte.model import SCENE_CUT_LEVEL, MatteModel, MatteModelError, ModelSpec, open_session
from jump.matte.models import model_type

log = logging.getLogger("jump.matte")

STATE_NAMES = ("r1", "r2", "r3", "r4")
THUMB = (32, 18)  # the scene-cut thumbnail (jump.matte.model.SCENE_CUT_LEVEL)
WARMUP_PASSES = 3  # issue 11: three recurrent passes settle a still (raw IoU 0.955)


def downsample_ratio(work_w: int, work_h: int, inner_long: int) -> float:
    """Ratio that gives the inner pass ``inner_long`` pixels on the long side (≤ 1).

    Rounded to 1/64 so that tiny changes of the work size do not change the inner size
    (and with it the state's shape) every frame.
    """
    long_side = max(1, work_w, work_h)
    ratio = min(1.0, inner_long / long_side)
    return max(1 / 64, round(ratio * 64) / 64)


@dataclass
class MattingOutput:
    """One RVM run at work size, as the network returned it: ``pha`` [1,1,H,W], ``fgr``
    [1,3,H,W] (RGB 0–1)."""

    pha: np.ndarray
    fgr: np.ndarray


class RecurrentState:
    """The RVM states of one stream plus the rules for forgetting them."""

    def __init__(self, dtype: Any = np.float32) -> None:
        self.dtype = dtype
        self.last_reset = "start"  # why the state was last forgotten (for logs and tests)
        self.resets = 0
        self._states: list[np.ndarray] | None = None
        self._key: tuple[int, int, float] | None = None
        self._thumb: np.ndarray | None = None

    @property
    def fresh(self) -> bool:
        return self._states is None

    def reset(self, reason: str = "request") -> None:
        self._states, self._thumb = None, None
        self.last_reset = reason
        self.resets += 1

    def check(self, key: tuple[int, int, float], thumb: np.ndarray) -> None:
        """Forget the state if this frame does not continue the last one."""
        if self._states is not None:
            if key != self._key:
                self.reset("size")
            elif self._thumb is not None and scene_change(self._thumb, thumb) > SCENE_CUT_LEVEL:
                self.reset("scene cut")
        self._key, self._thumb = key, thumb

    def inputs(self) -> list[np.ndarray]:
        if self._states is None:
            zero = np.zeros((1, 1, 1, 1), self.dtype)
            return [zero] * len(STATE_NAMES)
        return self._states

    def store(self, states: list[np.ndarray]) -> None:
        self._states = states


def scene_change(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two grey thumbnails (0–255)."""
    return float(cv2.absdiff(a, b).mean())


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    return cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), THUMB, interpolation=cv2.INTER_AREA)


@model_type("rvm")
class RecurrentMattingModel(MatteModel):
    """An RVM session, its recurrent state and the ratio choice, behind the engine's
    model seam (``jump.matte.model.MatteModel``).

    It sees the whole work picture (``content_rect`` is the full frame, any size) and
    returns alpha at that size (``output_kind: "alpha"``). The manifest's ``input_size``
    is the nominal inner pass (16:9) and its long side the inner size the ratio aims at,
    so ``work_scale`` × ``input_size`` gives the work picture exactly as for the
    segmentation models.
    """

    recurrent = True
    warmup_passes = WARMUP_PASSES

    def __init__(
        self,
        model_id: str,
        models_dir: str | os.PathLike[str] | None = None,
        threads: int = 2,
        provider: str = "auto",
        warmup_passes: int = WARMUP_PASSES,
    ) -> None:
        entry, self.path, self.session = open_session(
            model_id, "matte", models_dir, threads, provider
        )
        self.spec = ModelSpec.from_entry(entry)
        names = {i.name: i for i in self.session.get_inputs()}
        missing = {"src", "downsample_ratio", *(f"{n}i" for n in STATE_NAMES)} - set(names)
        if missing:
            raise MatteModelError(
                f"model {model_id!r} is declared as RVM but lacks the inputs {sorted(missing)}"
            )
        # An fp16 build may take half floats; the states go back in as they came out.
        self._src_dtype = np.float16 if "float16" in str(names["src"].type) else np.float32
        self.state = RecurrentState(
            np.float16 if "float16" in str(names["r1i"].type) else np.float32
        )
        self.inner_long = max(self.spec.input_size)
        self.warmup_passes = max(1, int(warmup_passes))
        self.ratio = 1.0
        self.last_passes = 0
        self._thumb: np.ndarray | None = None

    @property
    def colour(self) -> str:
        return "RGB"

    @property
    def returns_alpha(self) -> bool:
        return True  # a matting network: alpha at work size, its own edge refinement

    def configure(self, settings: Any) -> None:
        """The inner pass's long side: ``rvm_inner`` (Auto lowers it), else the manifest's
        (the recurrent state follows the size)."""
        self.inner_long = settings.rvm_inner or max(self.spec.input_size)

    def reset(self) -> None:
        self.state.reset("request")

    def content_rect(self, frame_w: int, frame_h: int) -> tuple[int, int, int, int]:
        """RVM takes the whole work picture, whatever its size."""
        return (0, 0, frame_w, frame_h)

    def tensor(self, pixels: np.ndarray) -> np.ndarray:
        """``src`` [1,3,H,W] 0–1 from the uint8 RGB work picture (HxWx3)."""
        h, w = pixels.shape[:2]
        self._thumb = thumbnail(pixels)
        src = np.empty((1, 3, h, w), self._src_dtype)
        for c in range(3):  # HWC uint8 → CHW 0–1, one pass per channel
            np.multiply(pixels[..., c], 1.0 / 255.0, out=src[0, c], casting="unsafe")
        return src

    def run(self, src: np.ndarray) -> MattingOutput:
        """One frame: forget the state if the frame does not continue the last one, then
        one recurrent pass (``warmup_passes`` on a fresh state)."""
        h, w = src.shape[2:]
        self.ratio = downsample_ratio(w, h, self.inner_long)
        thumb = self._thumb if self._thumb is not None else np.zeros(THUMB[::-1], np.uint8)
        self.state.check((w, h, self.ratio), thumb)
        feed = {"src": src, "downsample_ratio": np.array([self.ratio], np.float32)}
        passes = self.warmup_passes if self.state.fresh else 1
        for _ in range(passes):
            for name, value in zip(STATE_NAMES, self.state.inputs(), strict=True):
                feed[f"{name}i"] = value
            fgr, pha, *states = self.session.run(None, feed)
            self.state.store(states)
        self.last_passes = passes
        return MattingOutput(pha, fgr)

    def probability(self, raw: MattingOutput) -> np.ndarray:
        """Alpha (float32 HxW, 0–1) at work size."""
        alpha = np.ascontiguousarray(raw.pha[0, 0], np.float32)
        cv2.patchNaNs(alpha, 0.0)  # a broken output must not poison the matte
        return np.clip(alpha, 0.0, 1.0, out=alpha)

    @classmethod
    def device_key(cls, spec: ModelSpec, settings: Any, work: tuple[int, int]) -> tuple:
        """The inner pass's ratio and the guard's (0: off), constants of the device graph."""
        inner = settings.rvm_inner or max(spec.input_size)
        ratio = downsample_ratio(*work, inner)
        guard = downsample_ratio(*work, settings.rvm_guard) if settings.rvm_guard else 0.0
        return (ratio, 0.0 if guard == ratio else guard)

    @classmethod
    def device_graph(
        cls, proto: Any, spec: ModelSpec, settings: Any, work: tuple[int, int], post: Any
    ) -> Any:
        from jump.matte.device_graph import build_rvm

        ratio, guard = cls.device_key(spec, settings, work)
        return build_rvm(proto, work, ratio, post, guard)

    def foreground(self, raw: MattingOutput) -> np.ndarray:
        """RVM's own foreground colour (RGB, HxWx3, 0–1 — the network clamps it) at work
        size: a view of the output, since the engine asks every frame and only the
        evaluation reads it (decontamination uses blur fusion, docs/matte.md)."""
        return raw.fgr[0].transpose(1, 2, 0)
