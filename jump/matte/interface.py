"""The one interface every matte engine implements, and what it returns.

Three engines make a mask, each for its own case, and the worker (``jump.matte.worker``)
calls nothing but ``Engine``'s members on any of them:

- ``jump.matte.engine.MatteEngine``: the model and numpy post-processing on every frame;
- ``jump.matte.propagate.PropagatingEngine``: a heavy model on key frames, carried by
  motion to the others (the CPU's carried Auto rungs);
- ``jump.matte.device_engine.DeviceMatteEngine``: the whole mask as one graph on the
  execution provider (an accelerator).

``jump.matte.worker.open_engine`` picks one and hands it the loaded model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jump.matte.overrides import Overrides
from jump.matte.settings import MatteSettings


@dataclass
class MatteResult:
    """Everything one frame produced, for evaluation and pictures (uint8 alphas, frame size)."""

    alpha: np.ndarray
    raw: np.ndarray  # model probability, bilinear to the frame: what obs-backgroundremoval shows
    inferred: bool  # False when the model did not run on this frame (gated, carried)
    foreground: np.ndarray | None = None  # the model's colour estimate (model res), if any
    # F̂ − I at work size in the frame's channel order (float32, −1…1): the soft-edge
    # colour correction, None when decontamination is off. See jump.matte.decontaminate.
    # A carried frame (jump.matte.propagate) holds its key's correction already encoded.
    delta: np.ndarray | None = None
    # the same correction already encoded for the shader (encode_delta_bgra), when the
    # device path (jump.matte.device_engine) computed it on the execution provider
    edge_colour: np.ndarray | None = None


class Engine:
    """A matte engine: frames in, alphas of the same size out, with state per stream.

    ``process_detailed`` takes any picture: it is sanitised here (``sanitise_frame``) and an
    empty one gives an empty alpha, so an engine's ``_matte`` only sees a C-contiguous
    uint8 HxWx3/4 picture of at least one pixel.
    """

    settings: MatteSettings
    # the user's corrections (clean plate, zones, grow/shrink); the worker hands every
    # engine it loads its own, so they outlive a model change
    overrides: Overrides
    last_inference_ms: float = 0.0  # the model's last run (for the stats line)
    # frames between the picture a mask is made for and the one it is drawn on (the
    # worker's ``display_lead``): a carried matte leads by that much, the others ignore it
    lead: int = 0

    def work_size(self, source_w: int, source_h: int) -> tuple[int, int]:
        """(w, h) the caller should downscale a source to before handing it in."""
        return work_size(self.input_size, self.settings.work_scale, source_w, source_h)

    @property
    def input_size(self) -> tuple[int, int]:
        """(w, h) of the model input."""
        raise NotImplementedError

    def update(self, settings: MatteSettings) -> None:
        """Settings that need no new session (the worker builds a new engine for those)."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget temporal state (scene cut, source or resolution change, pause)."""
        raise NotImplementedError

    def frame_cost_ms(self, call_ms: float) -> float:
        """What one frame costs this engine, for Auto's budget, given how long the last
        ``process_detailed`` took: that time, unless the engine works beside the caller's
        thread (the carried engine says its own)."""
        return call_ms

    def close(self) -> None:
        """Release what the engine owns beyond its sessions (threads). Safe to call twice."""

    def process(self, frame: np.ndarray, fmt: str = "bgra") -> np.ndarray:
        """uint8 HxW alpha for a uint8 HxWx4 BGRA frame (or ``fmt`` "rgba"/"rgb"/"bgr")."""
        return self.process_detailed(frame, fmt, want_raw=False).alpha

    def process_detailed(
        self, frame: np.ndarray, fmt: str = "bgra", want_raw: bool = True
    ) -> MatteResult:
        """One frame. Never raises on odd pictures: NaNs and odd dtypes are sanitised, an
        empty frame gives an empty alpha."""
        frame, fmt = sanitise_frame(frame, fmt)
        h, w = frame.shape[:2]
        if h == 0 or w == 0:
            empty = np.zeros((h, w), np.uint8)
            return MatteResult(empty, empty, False)
        return self._matte(frame, fmt, want_raw)

    def _matte(self, frame: np.ndarray, fmt: str, want_raw: bool) -> MatteResult:
        raise NotImplementedError


def sanitise_frame(frame: np.ndarray, fmt: str) -> tuple[np.ndarray, str]:
    """A C-contiguous uint8 HxWx3/4 picture and its format, whatever came in."""
    a = np.asarray(frame)
    if a.dtype != np.uint8:
        a = a.astype(np.float32)
        finite = np.isfinite(a)
        # float pictures are 0–1 by convention; 0–255 if their finite values say so
        scale = 255.0 if a.size and float(a.max(where=finite, initial=0.0)) <= 1.0 else 1.0
        a = np.nan_to_num(a * scale, nan=0.0, posinf=255.0, neginf=0.0)
        a = np.clip(a + 0.5, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a, fmt = np.repeat(a[..., None], 3, axis=2), "rgb"
    elif a.ndim == 3 and a.shape[2] == 1:
        a, fmt = np.repeat(a, 3, axis=2), "rgb"
    elif a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"expected an HxWx3 or HxWx4 picture, got shape {a.shape}")
    if a.shape[2] == 4 and fmt not in ("bgra", "rgba"):
        fmt = "bgra"
    if a.shape[2] == 3 and fmt not in ("rgb", "bgr"):
        fmt = "rgb" if fmt == "rgba" else "bgr"
    return np.ascontiguousarray(a), fmt


def work_size(
    input_size: tuple[int, int], work_scale: float, source_w: int, source_h: int
) -> tuple[int, int]:
    """The source's aspect fitted inside ``work_scale`` × the model input, never upscaled:
    1920×1080 → 512×288 for the 256×144 default model."""
    source_w, source_h = max(1, int(source_w)), max(1, int(source_h))
    mw, mh = input_size
    scale = min(1.0, work_scale * min(mw / source_w, mh / source_h))
    return max(1, round(source_w * scale)), max(1, round(source_h * scale))
