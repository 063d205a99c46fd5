"""Low-light assist: brighten what the *model* sees when the room is dark.

Only the model's input is enhanced; the picture the viewer sees, and the guide of the
edge refinement, stay untouched. Two enhancers:

- ``gamma``: an adaptive gamma curve (one LUT) that maps the frame's mean luma to ~0.4;
- a lowlight ONNX model from the manifest (``zero_dce``: Zero-DCE, NCHW RGB 0–1 in,
  HWC RGB 0–255 out at 320×180).
"""

from __future__ import annotations

import logging
import os

import cv2
import numpy as np

from jump.matte.model import open_session

log = logging.getLogger("jump.matte")

TARGET_MEAN = 0.4


def mean_luma(rgb: np.ndarray) -> float:
    """Mean luma (0–1) of an RGB uint8 picture (Rec. 601 weights, as cv2's grey)."""
    return float(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).mean()) / 255.0


def gamma_lut(mean: float) -> np.ndarray:
    """A uint8 LUT whose gamma lifts ``mean`` to TARGET_MEAN (never darkens)."""
    mean = min(max(mean, 1e-3), 0.999)
    gamma = min(1.0, np.log(TARGET_MEAN) / np.log(mean))
    x = np.arange(256, dtype=np.float32) / 255.0
    return np.clip(255.0 * x**gamma + 0.5, 0, 255).astype(np.uint8)


class LowLightEnhancer:
    def __init__(
        self,
        method: str = "gamma",
        models_dir: str | os.PathLike[str] | None = None,
        threads: int = 1,
        provider: str = "auto",
    ) -> None:
        self.method = method
        self.session = None
        if method != "gamma":
            entry, _, self.session = open_session(method, "lowlight", models_dir, threads, provider)
            inp = self.session.get_inputs()[0]
            self.input_name = inp.name
            _, _, self.h, self.w = (int(d) for d in inp.shape)
            self.out_hwc = bool(entry.spec.get("output_layout", "HWC") == "HWC")
            self.out_scale = float(entry.spec.get("output_scale", 255.0))

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        if self.session is None:
            return cv2.LUT(rgb, gamma_lut(mean_luma(rgb)))
        h, w = rgb.shape[:2]
        small = cv2.resize(rgb, (self.w, self.h), interpolation=cv2.INTER_AREA)
        x = (small.astype(np.float32) * (1.0 / 255.0)).transpose(2, 0, 1)[None]
        out = self.session.run(None, {self.input_name: np.ascontiguousarray(x)})[0]
        out = out.reshape(out.shape[-3:])
        if not self.out_hwc:
            out = out.transpose(1, 2, 0)
        out = np.clip(out * (255.0 / self.out_scale), 0, 255).astype(np.uint8)
        return cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
