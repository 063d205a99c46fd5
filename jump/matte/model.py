"""The matte model seam: the manifest's description of a model (``ModelSpec``), the base class
every model type implements (``MatteModel``), and opening its session.

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

import numpy as np

from jump import catalogue
from jump.defaults import DEFAULT_MATTE_MODEL

log = logging.getLogger("jump.matte")

# Mean |Δgrey| (0–255) of a small grey thumbnail above which the picture is a new scene: a
# recurrent model forgets its state there. A person walking across a webcam picture stays
# under 15; a cut between cameras is 40 and more.
SCENE_CUT_LEVEL = 30.0


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


class MatteModel:
    """Everything the matte engine touches in a model: a model type subclasses this, is
    registered with ``@model_type("name")`` (``jump.matte.models``) and is chosen by the
    manifest entry's ``"type"``. Nothing else of a model is read by the engine.

    Per frame the engine calls, in order: ``content_rect`` (where the frame lands in the
    input), ``tensor`` (the input from pixels in ``colour`` order, sized to that rect),
    ``run``, ``probability`` (person probability or alpha over the content rect) and
    ``foreground``. ``reset`` forgets state carried between frames (scene cut, resolution
    or model change); ``configure`` takes the engine's settings on every change.

    The device path (``jump.matte.device_engine``) opens no session of the model: it asks
    the type (class methods) for the graph that makes the whole mask on the provider.
    """

    spec: ModelSpec
    # keeps state between frames (RVM's recurrent tensors): the device path feeds it back
    # and forgets it on a scene cut; the carried engine runs such a model on key frames
    recurrent: bool = False
    warmup_passes: int = 1  # runs of the first picture after a reset (a fresh state)
    last_passes: int = 1  # runs the last frame took (warm-up included)

    def __init__(
        self,
        model_id: str,
        models_dir: str | os.PathLike[str] | None = None,
        threads: int = 2,
        provider: str = "auto",
    ) -> None:
        raise NotImplementedError

    @property
    def input_size(self) -> tuple[int, int]:
        """(w, h) of the model input, from the manifest (the work size follows it)."""
        return self.spec.input_size

    @property
    def colour(self) -> str:
        """Channel order ("RGB" or "BGR") ``tensor`` expects its pixels in."""
        return self.spec.colour

    @property
    def returns_alpha(self) -> bool:
        """True for a matting model: ``probability`` is already a matte at work size, so the
        engine skips the segmentation clean-up (threshold, blobs, guided filter) and
        auto-framing; feathering, the user's corrections and smoothing still apply."""
        return self.spec.output_kind == "alpha"

    @property
    def low_light_assist(self) -> bool:
        """Whether low-light "auto" brightens this model's input (measured per model)."""
        return self.spec.low_light_assist

    def configure(self, settings: Any) -> None:
        """The engine's ``MatteSettings``, on load and on every change (RVM's inner size)."""

    def content_rect(self, frame_w: int, frame_h: int) -> tuple[int, int, int, int]:
        """Where a frame of this size lands in the model input (x, y, w, h)."""
        raise NotImplementedError

    def tensor(self, pixels: np.ndarray) -> np.ndarray:
        """The model input from a uint8 picture in ``colour`` order, sized to the rect."""
        raise NotImplementedError

    def run(self, tensor: np.ndarray) -> Any:
        """One inference; what it returns only ``probability``/``foreground`` read."""
        raise NotImplementedError

    def probability(self, raw: Any) -> np.ndarray:
        """float32 0–1 over the content rect (person probability, or alpha)."""
        raise NotImplementedError

    def foreground(self, raw: Any) -> np.ndarray | None:
        """The model's foreground colour estimate, if it makes one."""
        return None

    def reset(self) -> None:
        """Forget state carried between frames (none for a stateless model)."""

    # -- the device path: the type builds the graph, no session of the model is opened --

    @classmethod
    def device_key(cls, spec: ModelSpec, settings: Any, work: tuple[int, int]) -> tuple:
        """What of ``settings`` the type's device graph bakes in at this work size, beyond
        the post-processing (a change rebuilds the graph)."""
        return ()

    @classmethod
    def device_graph(
        cls, proto: Any, spec: ModelSpec, settings: Any, work: tuple[int, int], post: Any
    ) -> Any:
        """``proto`` (the model's ONNX graph) with the frame in and the mask out at ``work``
        (w, h): BGRA uint8 in, alpha uint8 out, ``post`` (``device_graph.PostSettings``)
        inside (``jump.matte.device_graph``)."""
        raise MatteModelError(f"model {spec.id!r}: its type has no device graph")
