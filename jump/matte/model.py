"""Segmentation models described by the manifest: pre-processing, session, person probability.

A manifest entry (``models/matte.json``) says everything the engine needs to feed a model
and read it back, so a user can add any single-input segmentation ONNX without code:

    "layout": "NHWC" | "NCHW",          input tensor layout
    "input_size": [w, h],               model input in pixels
    "colour": "RGB" | "BGR",            channel order the model was trained on
    "mean": [..3], "std": [..3],        tensor = (pixel - mean) / std, pixel in 0–255,
                                        listed in the model's channel order
    "resize": "stretch" | "letterbox",  how a frame of another aspect is fitted
    "output_kind": "probability" | "logits",
                                        logits: softmax over channels (sigmoid if only one)
    "output_layout": "NHWC" | "NCHW", "person_channel": int,
    "input_name", "output_name"         optional; default the session's first
    "low_light_assist": bool            whether low_light="auto" brightens this model's
                                        input (default true; measured per model)

The pre-processing choices were checked by quality on the eval set (docs/matte.md):
a wrong colour order or normalisation shows up as a clearly lower IoU.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from jump import catalogue
from jump.defaults import DEFAULT_MATTE_MODEL
from jump.named import NamedTypes

log = logging.getLogger("jump.matte")


class MatteModelError(RuntimeError):
    """The matte model (or onnxruntime) is missing, corrupt or unusable.

    The message is written for the user: it says which model and what to do.
    """


@dataclass(frozen=True)
class ModelSpec:
    id: str
    layout: str
    input_size: tuple[int, int]  # (w, h)
    colour: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize: str
    output_kind: str
    output_layout: str
    person_channel: int
    input_name: str | None
    output_name: str | None
    low_light_assist: bool  # whether "auto" low-light brightening helps this model

    @classmethod
    def from_entry(cls, entry: catalogue.ModelEntry) -> ModelSpec:
        s = entry.spec
        try:
            spec = cls(
                id=entry.id,
                layout=str(s.get("layout", "NHWC")).upper(),
                input_size=(int(s["input_size"][0]), int(s["input_size"][1])),
                colour=str(s.get("colour", "RGB")).upper(),
                mean=tuple(float(v) for v in s.get("mean", (0.0, 0.0, 0.0))),  # type: ignore[arg-type]
                std=tuple(float(v) for v in s.get("std", (255.0, 255.0, 255.0))),  # type: ignore[arg-type]
                resize=str(s.get("resize", "stretch")),
                output_kind=str(s.get("output_kind", "probability")),
                output_layout=str(s.get("output_layout", s.get("layout", "NHWC"))).upper(),
                person_channel=int(s.get("person_channel", 0)),
                input_name=s.get("input_name"),
                output_name=s.get("output_name"),
                low_light_assist=bool(s.get("low_light_assist", True)),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise MatteModelError(
                f"model {entry.id!r}: its manifest entry lacks or mangles an engine field ({exc})"
            ) from exc
        problems = []
        if spec.layout not in ("NHWC", "NCHW") or spec.output_layout not in ("NHWC", "NCHW"):
            problems.append("layout must be NHWC or NCHW")
        if spec.colour not in ("RGB", "BGR"):
            problems.append("colour must be RGB or BGR")
        if spec.resize not in ("stretch", "letterbox"):
            problems.append("resize must be stretch or letterbox")
        if spec.output_kind not in ("probability", "logits", "alpha"):
            problems.append("output_kind must be probability, logits or alpha")
        if min(spec.input_size) < 8 or len(spec.mean) != 3 or len(spec.std) != 3:
            problems.append("input_size, mean and std look wrong")
        if any(v == 0 for v in spec.std):
            problems.append("std must not be 0")
        if problems:
            raise MatteModelError(f"model {entry.id!r}: " + "; ".join(problems))
        return spec


def matte_specs() -> dict[str, ModelSpec]:
    """Every matte model the manifest knows, by id (for the filter's model list)."""
    return {
        e.id: ModelSpec.from_entry(e)
        for e in catalogue.load_manifest().values()
        if e.kind == "matte"
    }


def spec_input_size(model_id: str) -> tuple[int, int]:
    """A matte model's input size from the manifest alone; the engine's default model's if
    ``model_id`` is unknown (raises MatteModelError when neither entry is usable)."""
    try:
        return ModelSpec.from_entry(catalogue.get_entry(model_id)).input_size
    except (catalogue.ModelError, MatteModelError):
        if model_id == DEFAULT_MATTE_MODEL:
            raise MatteModelError(f"the manifest has no usable entry {model_id!r}") from None
        return spec_input_size(DEFAULT_MATTE_MODEL)


def available_matte_models(models_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Ids of the manifest's matte models whose file is present on the search path."""
    return [
        e.id
        for e in catalogue.load_manifest().values()
        if e.kind == "matte" and catalogue.locate(e, models_dir) is not None
    ]


def resolve_providers(provider: str) -> list:
    """ORT providers for a user's choice ("auto", "cpu", "cuda"…); jump.sessions decides."""
    from jump import sessions

    try:
        return sessions.resolve_providers(provider)
    except ValueError as exc:  # unknown name: say so rather than blame the model file
        raise MatteModelError(str(exc)) from exc


def open_session(
    model_id: str,
    kind: str,
    models_dir: str | os.PathLike[str] | None,
    threads: int,
    provider: str,
) -> tuple[catalogue.ModelEntry, Path, Any]:
    """(entry, path, session) or MatteModelError with a message a user can act on."""
    from jump import sessions

    try:
        entry = catalogue.get_entry(model_id)
        if entry.kind != kind:
            raise MatteModelError(f"model {model_id!r} is a {entry.kind} model, not a {kind} one")
        path = catalogue.find_model(model_id, models_dir)
        providers = resolve_providers(provider)
        session = sessions.create_session(path, threads, providers)
    except MatteModelError:
        raise
    except catalogue.ModelError as exc:
        raise MatteModelError(str(exc)) from exc
    except sessions.RuntimeMissingError as exc:
        raise MatteModelError(str(exc)) from exc
    except Exception as exc:  # ORT raises its own types for a corrupt or foreign file
        raise MatteModelError(
            f"model {model_id!r} could not be loaded ({type(exc).__name__}: {exc}); "
            f"the file may be corrupt: run `python -m jump models fetch {model_id}`"
        ) from exc
    return entry, path, session


def fit_rect(src_w: int, src_h: int, dst_w: int, dst_h: int, mode: str) -> tuple[int, ...]:
    """(x, y, w, h) of a src-aspect picture inside a dst canvas: whole canvas when stretched."""
    if mode != "letterbox":
        return (0, 0, dst_w, dst_h)
    scale = min(dst_w / src_w, dst_h / src_h)
    w = max(1, min(dst_w, round(src_w * scale)))
    h = max(1, min(dst_h, round(src_h * scale)))
    return ((dst_w - w) // 2, (dst_h - h) // 2, w, h)


# Model classes by the manifest's "type" field. A model that carries state between
# frames (Robust Video Matting's r1..r4) keeps it inside its object: the engine calls
# ``reset()`` on a scene cut, a resolution change or a new model, and reads an optional
# foreground colour estimate through ``foreground(raw)``. A new family is one class
# registered here with ``@model_type("name")`` plus its manifest entries.
_MODEL_TYPES: NamedTypes[type] = NamedTypes("matte model type")
model_type = _MODEL_TYPES.register  # class decorator, by the manifest's "type" value


def load_matte_model(
    model_id: str,
    models_dir: str | os.PathLike[str] | None = None,
    threads: int = 2,
    provider: str = "auto",
) -> SegmentationModel:
    """The model object for ``model_id``, of the class its manifest entry's engine names.

    When the model's file is missing, the first present model of its entry's
    ``fallback`` list runs instead (``fallback_model``)."""
    model_id = fallback_model(model_id, models_dir)
    try:
        engine = catalogue.get_entry(model_id).type or "segmentation"
    except catalogue.ModelError as exc:
        raise MatteModelError(str(exc)) from exc
    if engine not in _MODEL_TYPES:
        raise MatteModelError(f"model {model_id!r}: no matte model type {engine!r}")
    return _MODEL_TYPES.get(engine)(model_id, models_dir, threads, provider)


def fallback_model(model_id: str, models_dir: str | os.PathLike[str] | None) -> str:
    """``model_id`` if its file is present, else the first present model of its entry's
    ``fallback`` list, with one log line; the id itself when none is present.

    A streamer who picked RVM without fetching it still gets a matte rather than a
    passed-through camera. Only heavy models list fallbacks: a missing light model never
    silently turns into a heavy one.
    """
    manifest = catalogue.load_manifest()
    entry = manifest.get(model_id)
    if entry is None or catalogue.locate(entry, models_dir) is not None:
        return model_id  # unknown ids fail later with the catalogue's own message
    for candidate in entry.spec.get("fallback", ()):
        other = manifest.get(candidate)
        if other is not None and catalogue.locate(other, models_dir) is not None:
            log.warning(
                "Jump Matte: model %r (%s) not found; using %r instead "
                "(run `python -m jump models fetch %s`)",
                model_id,
                entry.file,
                candidate,
                model_id,
            )
            return candidate
    return model_id  # nothing to fall back to: the load fails with the missing-file message


@model_type("segmentation")
class SegmentationModel:
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

    @property
    def input_size(self) -> tuple[int, int]:
        return self.spec.input_size

    def reset(self) -> None:
        """Forget state carried between frames (none here; recurrent models override)."""

    def foreground(self, raw: np.ndarray) -> np.ndarray | None:
        """The model's foreground colour estimate over the content rect, if it makes one."""
        return None

    def bind_input(self, buffer: np.ndarray) -> None:
        """Pre-process into ``buffer`` (an ORT IO-binding input of the model's shape)."""
        if buffer.shape != self._input.shape:
            raise ValueError(f"input buffer {buffer.shape} is not {self._input.shape}")
        self._input = buffer
        self._dtype = buffer.dtype
        self._rect_for = None

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

    @property
    def colour(self) -> str:
        """Channel order ("RGB" or "BGR") ``tensor`` expects its pixels in."""
        return self.spec.colour

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
