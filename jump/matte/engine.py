"""The synchronous matte engine: a frame in, an alpha of the same size out.

Pipeline (docs/matte.md has the why and the measurements):

    frame ─► work image (INTER_AREA, ≤ work_size) ─► model content image ─► [low light]
          ─► ONNX ─► person probability (model res) ─► blob/hole clean-up
          ─► soft threshold ─► fast guided filter against the work-resolution picture
          ─► outward feather ─► motion-adaptive temporal smoothing ─► bilinear to frame
          (and at work size: the soft-edge colour correction, jump.matte.decontaminate)

A matting model (``MatteModel.returns_alpha``, Robust Video Matting) sees the whole work
picture and returns alpha at that size: the segmentation clean-up (threshold, blobs,
guided filter) is skipped, feathering and smoothing apply.

The OBS filter hands in a frame already at work size (downscaled on the GPU), so the
last step is a no-op there; the CLI hands in full frames.
"""

from __future__ import annotations

import logging
import os
from contextlib import AbstractContextManager, nullcontext

import cv2
import numpy as np

from jump.matte import decontaminate, refine
from jump.matte.framing import AutoFramer
from jump.matte.interface import Engine, MatteResult
from jump.matte.lowlight import LowLightEnhancer
from jump.matte.model import MatteModel, MatteModelError
from jump.matte.models import load_matte_model
from jump.matte.overrides import Overrides
from jump.matte.settings import REFERENCE_HEIGHT, MatteSettings
from jump.matte.temporal import MotionAdaptiveSmoother, StillFrameDetector
from jump.probe import Probe

log = logging.getLogger("jump.matte")

# The colour guided filter solves its 3×3 systems on a grid this much coarser than the
# model output: a, b are box-smoothed anyway, quality on the eval set is unchanged
# (docs/matte.md) and it costs a quarter.
GF_SUBSAMPLE = 2

# (frame format, model colour order) -> cv2 conversion; None = take the first 3 channels
_CONVERT = {
    ("bgra", "RGB"): cv2.COLOR_BGRA2RGB,
    ("bgra", "BGR"): cv2.COLOR_BGRA2BGR,
    ("rgba", "RGB"): cv2.COLOR_RGBA2RGB,
    ("rgba", "BGR"): cv2.COLOR_RGBA2BGR,
    ("bgr", "RGB"): cv2.COLOR_BGR2RGB,
    ("bgr", "BGR"): None,
    ("rgb", "RGB"): None,
    ("rgb", "BGR"): cv2.COLOR_RGB2BGR,
}
_TO_GREY = {
    "bgra": cv2.COLOR_BGRA2GRAY,
    "rgba": cv2.COLOR_RGBA2GRAY,
    "bgr": cv2.COLOR_BGR2GRAY,
    "rgb": cv2.COLOR_RGB2GRAY,
}


class MatteEngine(Engine):
    """Synchronous engine. Holds the session and the temporal state of one video stream.

    ``model``: the loaded model (``jump.matte.worker.open_engine`` hands it in); None loads
    ``settings.model`` here. Raises MatteModelError (with a user-facing message) when the
    model or onnxruntime is missing or corrupt. ``process`` itself never raises on odd
    frames (``Engine.process_detailed``).
    """

    def __init__(
        self,
        settings: MatteSettings | None = None,
        models_dir: str | os.PathLike[str] | None = None,
        probe: Probe | None = None,
        model: MatteModel | None = None,
    ) -> None:
        self.settings = settings or MatteSettings()
        self.probe = probe
        self.models_dir = models_dir
        s = self.settings
        if model is None:
            model = load_matte_model(s.model, models_dir, s.threads, s.provider)
        self.model = model
        self._enhancer: LowLightEnhancer | None = None
        self._smoother = MotionAdaptiveSmoother(s.temporal, s.motion_px)
        self._still = StillFrameDetector(s.gate_db, s.gate_max_skip)
        self._last_prob: np.ndarray | None = None
        self._frame_shape: tuple[int, int] | None = None
        self._framer = AutoFramer()
        self._decontaminate = decontaminate.EdgeDecontaminator()
        self.last_inference_ms = 0.0
        self.last_foreground: np.ndarray | None = None
        # clean plate, grow/shrink, keep zones; survives reset() (the room did not change)
        self.overrides = Overrides()
        self.model.configure(self.settings)

    # -- geometry -----------------------------------------------------------------------

    @property
    def input_size(self) -> tuple[int, int]:
        """(w, h) of the model input."""
        return self.model.input_size

    # -- state --------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget temporal state (scene cut, source or resolution change)."""
        self._smoother.reset()
        self._still.reset()
        self.model.reset()
        self._framer.reset()
        self._last_prob = None
        self.last_foreground = None

    def update(self, settings: MatteSettings) -> None:
        """Apply new settings. A new model/threads/provider reloads the session (may raise)."""
        old, self.settings = self.settings, settings
        if settings.needs_new_session(old):
            self.model = load_matte_model(
                settings.model, self.models_dir, settings.threads, settings.provider
            )
            self._enhancer = None
            self.reset()
        self._smoother.strength = settings.temporal
        self._smoother.motion_level = settings.motion_px
        self._still.threshold_db = settings.gate_db
        self._still.max_skip = settings.gate_max_skip
        self.model.configure(self.settings)

    def _low_light(self, pixels: np.ndarray, grey: np.ndarray) -> np.ndarray:
        """The model's input brightened when the room is dark (never the viewer's picture)."""
        s = self.settings
        if s.low_light == "off" or (
            s.low_light == "auto"
            and (not self.model.low_light_assist or grey.mean() >= 255.0 * s.dark_level)
        ):
            return pixels
        if self._enhancer is None or self._enhancer.method != s.low_light_model:
            try:
                self._enhancer = LowLightEnhancer(s.low_light_model, self.models_dir, 1, s.provider)
            except MatteModelError as exc:
                log.warning("low-light model unavailable, using gamma: %s", exc)
                self._enhancer = LowLightEnhancer("gamma")
        if self.model.colour == "RGB":
            return self._enhancer(pixels)
        return np.ascontiguousarray(
            self._enhancer(np.ascontiguousarray(pixels[..., ::-1]))[..., ::-1]
        )

    # -- processing ---------------------------------------------------------------------

    def _matte(self, frame: np.ndarray, fmt: str, want_raw: bool) -> MatteResult:
        h, w = frame.shape[:2]
        if self._frame_shape != (h, w):
            if self._frame_shape is not None:
                self.reset()
            self._frame_shape = (h, w)
        s = self.settings

        ww, wh = self.work_size(w, h)
        work = (
            frame
            if (ww, wh) == (w, h)
            else cv2.resize(frame, (ww, wh), interpolation=cv2.INTER_AREA)
        )
        _, _, cw, ch = self.model.content_rect(ww, wh)
        small = cv2.resize(work, (cw, ch), interpolation=cv2.INTER_AREA)
        code = _CONVERT[fmt, self.model.colour]
        pixels = small if code is None else cv2.cvtColor(small, code)
        grey_code = cv2.COLOR_RGB2GRAY if self.model.colour == "RGB" else cv2.COLOR_BGR2GRAY
        grey = cv2.cvtColor(pixels, grey_code)

        # the detector remembers the grey of every frame it lets through, so ask it each time
        still = s.motion_gating and self._still.still(grey)
        inferred = not (still and self._last_prob is not None)
        if inferred:
            t0 = cv2.getTickCount()
            crop = self._crop(ww, wh)
            if crop is None:
                tensor = self.model.tensor(self._low_light(pixels, grey))
            else:
                tensor = self._crop_tensor(work, crop, code, grey)
            with self._stage("inference"):
                raw = self.model.run(tensor)
            self.last_inference_ms = (cv2.getTickCount() - t0) * 1e3 / cv2.getTickFrequency()
            prob = self.model.probability(raw)
            if crop is not None:
                prob = _paste(prob, crop, ww, wh)
            if s.auto_frame and not self.model.returns_alpha:
                mw, mh = self.input_size
                self._framer.update(prob, (mw / mh) / (ww / wh))
            self._last_prob = prob
            self.last_foreground = self.model.foreground(raw)
        else:
            prob = self._last_prob  # type: ignore[assignment]

        with self._stage("refine"):
            if prob.shape == (wh, ww):  # framed: the probability is already at work size
                alpha = self._refine(prob, work, None, code, fmt, wh)
            else:
                alpha = self._refine(prob, work, pixels, code, fmt, ch)
        with self._stage("overrides"):
            alpha = self.overrides(alpha, work, s)
        with self._stage("smoothing"):
            alpha = self._smoother(alpha, grey)
        with self._stage("decontaminate"):
            delta = self._edge_delta(work, alpha)
        alpha8 = to_u8(alpha)
        if (ww, wh) != (w, h):
            alpha8 = cv2.resize(alpha8, (w, h), interpolation=cv2.INTER_LINEAR)
        raw8 = (
            to_u8(cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)) if want_raw else alpha8
        )
        return MatteResult(alpha8, raw8, inferred, self.last_foreground, delta)

    def _crop(self, ww: int, wh: int) -> tuple[int, int, int, int] | None:
        """The auto-framing crop of the work picture in pixels, or None for the whole."""
        if not self.settings.auto_frame or self.model.returns_alpha:
            return None
        crop = self._framer.pixels(ww, wh)
        return None if crop == (0, 0, ww, wh) else crop

    def _crop_tensor(
        self, work: np.ndarray, crop: tuple[int, int, int, int], code: int | None, grey: np.ndarray
    ) -> np.ndarray:
        """The model input from the crop (the full frame's grey decides low light)."""
        x0, y0, x1, y1 = crop
        _, _, cw, ch = self.model.content_rect(x1 - x0, y1 - y0)
        view = cv2.resize(work[y0:y1, x0:x1], (cw, ch), interpolation=cv2.INTER_AREA)
        pixels = view if code is None else cv2.cvtColor(view, code)
        return self.model.tensor(self._low_light(pixels, grey))

    def _edge_delta(self, work: np.ndarray, alpha: np.ndarray) -> np.ndarray | None:
        """Decontamination's colour correction at work size, or None when it is off."""
        s = self.settings
        if not s.decontaminate:
            return None
        radius = s.decontaminate_radius_px * work.shape[0] / REFERENCE_HEIGHT
        return self._decontaminate(work, alpha, radius)

    def _stage(self, name: str) -> AbstractContextManager[None]:
        return self.probe.stage(name) if self.probe is not None else nullcontext()

    def _refine(
        self,
        prob: np.ndarray,
        work: np.ndarray,
        pixels: np.ndarray | None,
        code: int | None,
        fmt: str,
        ch: int,
    ) -> np.ndarray:
        """Model probability -> clean, soft, edge-refined, feathered alpha at work size."""
        s = self.settings
        wh, ww = work.shape[:2]
        if self.model.returns_alpha:
            # already a matte at work size, edges refined by the network's own guided
            # filter; threshold and guided filter would harden its hair (docs/matte.md)
            alpha = prob
            if alpha.shape != (wh, ww):
                alpha = cv2.resize(alpha, (ww, wh), interpolation=cv2.INTER_LINEAR)
            if s.feather_px >= 0.5:
                alpha = refine.feather_outward(alpha, s.feather_px * wh / REFERENCE_HEIGHT)
            return alpha
        clean = refine.clean_blobs(prob, s.threshold, s.min_blob, s.fill_holes)
        mask = refine.soft_threshold(clean, s.threshold, s.soft_edge)
        if s.refine:
            radius = max(1, round(s.refine_radius_px * ch / REFERENCE_HEIGHT))
            if s.refine_colour:
                # the guide in the model's colour order, so the model's own input image can
                # serve as the filter's low-resolution guide
                guide = work if code is None else cv2.cvtColor(work, code)
                alpha = refine.guided_upsample_colour(
                    mask, guide, radius, s.refine_eps, GF_SUBSAMPLE, guide_low=pixels
                )
            else:
                guide = cv2.cvtColor(work, _TO_GREY[fmt]).astype(np.float32) * (1.0 / 255.0)
                alpha = refine.guided_upsample(mask, guide, radius, s.refine_eps)
        else:
            alpha = cv2.resize(mask, (ww, wh), interpolation=cv2.INTER_LINEAR)
        if s.feather_px >= 0.5:
            alpha = refine.feather_outward(alpha, s.feather_px * wh / REFERENCE_HEIGHT)
        return alpha


def _paste(prob: np.ndarray, crop: tuple[int, int, int, int], ww: int, wh: int) -> np.ndarray:
    """A crop's probability placed into a zero work-size frame (nothing seen outside)."""
    x0, y0, x1, y1 = crop
    full = np.zeros((wh, ww), np.float32)
    full[y0:y1, x0:x1] = cv2.resize(prob, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    return full


def to_u8(alpha: np.ndarray) -> np.ndarray:
    """0–1 float32 → uint8, rounded and saturated; NaN → 0. May modify ``alpha``."""
    alpha = np.ascontiguousarray(alpha, np.float32)
    cv2.patchNaNs(alpha, 0.0)
    np.maximum(alpha, 0.0, out=alpha)  # convertScaleAbs would fold negatives up
    return cv2.convertScaleAbs(alpha, alpha=255.0)
