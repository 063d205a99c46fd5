"""Single-input segmentation models described by the manifest (MediaPipe, Selfie, SINet…):
the tensor plumbing of ``jump.matte.model.ModelSpec`` and the person probability."""

from __future__ import annotations

import os
from typing import Any

import cv2
import numpy as np

from jump.matte.model import MatteModel, MatteModelError, ModelSpec, fit_rect, open_session
from jump.matte.models import model_type


@model_type("segmentation")
class SegmentationModel(MatteModel):
    """One ONNX session plus the tensor plumbing its manifest entry describes.

    Stateless: every frame is inferred on its own, so ``reset`` has nothing to forget.
    """

    def __init__(
        self,
        model_id: str,
        models_dir: str | os.PathLike[str] | None = None,
        threads: int = 2,
        provider: str = "auto",
    ) -> None:
        entry, self.path, self.session = open_session(
            model_id, "matte", models_dir, threads, provider
        )
        self.spec = ModelSpec.from_entry(entry)
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        self.input_name = self.spec.input_name or inputs[0].name
        self.output_name = self.spec.output_name or outputs[0].name
        w, h = self.spec.input_size
        shape = (1, h, w, 3) if self.spec.layout == "NHWC" else (1, 3, h, w)
        declared = list(inputs[0].shape)
        if len(declared) != 4 or any(
            isinstance(d, int) and d != s for d, s in zip(declared, shape, strict=False)
        ):
            raise MatteModelError(
                f"model {model_id!r}: the file's input {declared} does not match its manifest "
                f"entry ({self.spec.layout} {w}×{h})"
            )
        # fp16 variants take half floats; the arithmetic stays float32 until the copy in
        self._dtype = np.float16 if "float16" in str(inputs[0].type) else np.float32
        self._input = np.zeros(shape, self._dtype)
        self.set_normalisation(self.spec)

    def set_normalisation(self, spec: ModelSpec) -> None:
        """Adopt ``spec``'s colour order, mean/std and resize mode (same input shape).

        Used by ``python -m jump eval matte --preprocessing`` to show what a wrong choice
        costs; the engine itself only ever uses the manifest's.
        """
        self.spec = spec
        mean = np.asarray(spec.mean, np.float32)
        inv_std = 1.0 / np.asarray(spec.std, np.float32)
        # (pixel - mean) / std for every uint8 value and channel: one cv2.LUT per frame
        levels = np.arange(256, dtype=np.float32)[:, None]
        self._lut = np.ascontiguousarray(((levels - mean) * inv_std)[None], np.float32)
        # letterbox padding is black in pixel space, normalised like any pixel
        self._pad = self._lut[0, 0].astype(self._dtype)
        self._rect_for: tuple[int, int] | None = None
        self._rect = (0, 0, *spec.input_size)

    def content_rect(self, frame_w: int, frame_h: int) -> tuple[int, int, int, int]:
        """Where a frame of this size lands in the model input (x, y, w, h)."""
        if self._rect_for != (frame_w, frame_h):
            mw, mh = self.spec.input_size
            self._rect = fit_rect(frame_w, frame_h, mw, mh, self.spec.resize)  # type: ignore[assignment]
            self._rect_for = (frame_w, frame_h)
            if self.spec.layout == "NHWC":
                self._input[...] = self._pad
            else:
                self._input[...] = self._pad[None, :, None, None]
        return self._rect

    def tensor(self, pixels: np.ndarray) -> np.ndarray:
        """Model input from a uint8 picture in the model's ``colour`` order, already sized
        to the content rect. Returns the model's own (reused) input buffer."""
        x, y, w, h = self._rect
        if self.spec.layout == "NHWC":
            dst = self._input[0, y : y + h, x : x + w]
            if dst.flags.c_contiguous and self._dtype == np.float32:
                cv2.LUT(pixels, self._lut, dst=dst)
            else:
                dst[...] = cv2.LUT(pixels, self._lut)
        else:
            self._input[0, :, y : y + h, x : x + w] = cv2.LUT(pixels, self._lut).transpose(2, 0, 1)
        return self._input

    @classmethod
    def device_graph(
        cls, proto: Any, spec: ModelSpec, settings: Any, work: tuple[int, int], post: Any
    ) -> Any:
        from jump.matte.device_graph_segmentation import build_segmentation, layout_for

        return build_segmentation(proto, work, layout_for(proto, spec, work), post)

    def run(self, tensor: np.ndarray) -> np.ndarray:
        return self.session.run([self.output_name], {self.input_name: tensor})[0]

    def probability(self, raw: np.ndarray) -> np.ndarray:
        """Person probability (float32, 0–1) over the content rect, at model resolution."""
        out = raw[0] if raw.ndim == 4 else raw
        if self.spec.output_layout == "NCHW":
            out = np.moveaxis(out, 0, -1)
        if out.ndim == 2:
            out = out[..., None]
        c = self.spec.person_channel
        if self.spec.output_kind == "logits" and out.shape[-1] > 2:
            e = np.exp(out - out.max(axis=-1, keepdims=True))
            prob = (e[..., c] / e.sum(axis=-1)).astype(np.float32)
        elif self.spec.output_kind == "logits":
            # sigmoid, and softmax of a pair is the sigmoid of the logit difference
            if out.shape[-1] == 1:
                prob = np.negative(out[..., 0], dtype=np.float32)
            else:
                prob = np.subtract(out[..., 1 - c], out[..., c], dtype=np.float32)
            np.clip(prob, -80.0, 80.0, out=prob)  # no exp overflow
            np.exp(prob, out=prob)
            prob += 1.0
            np.reciprocal(prob, out=prob)
        else:
            prob = np.array(out[..., c], dtype=np.float32)
        mw, mh = self.spec.input_size
        if prob.shape != (mh, mw):  # a model whose output is coarser than its input
            prob = cv2.resize(prob.astype(np.float32), (mw, mh), interpolation=cv2.INTER_LINEAR)
        x, y, w, h = self._rect
        prob = np.ascontiguousarray(prob[y : y + h, x : x + w])
        cv2.patchNaNs(prob, 0.0)  # a broken model output must not poison the matte
        return np.clip(prob, 0.0, 1.0, out=prob)
