"""The matte engine on the execution provider: ``MatteEngine``'s interface, one session
run per mask (``jump.matte.device_path``), the CPU engine behind it.

The worker uses it where the session runs on an accelerator (``jump.matte.auto.on_device``): there the
numpy post-processing, not the model, was the bottleneck (docs/benchmarks.md). It hands
a frame to the numpy ``MatteEngine`` instead when

- the settings ask for something the graphs do not do (``unsupported``: the user's
  corrections, motion gating, forced low light);
- the device run raises (driver reset, lost device, out of memory): one warning, then
  the CPU engine on the CPU provider takes that same frame and every later one, so the
  video never misses a mask.

A change of work size (the source's resolution) or of a baked setting rebuilds the
graph; a model change makes the worker build a new engine, as for ``MatteEngine``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np
import onnx

from jump import catalogue, sessions
from jump.matte import device_graph as dg
from jump.matte.engine import REFERENCE_HEIGHT, MatteEngine
from jump.matte.interface import Engine, MatteResult
from jump.matte.model import (
    SCENE_CUT_LEVEL,
    MatteModel,
    MatteModelError,
    ModelSpec,
    fit_rect,
    resolve_providers,
)
from jump.matte.models import model_type_of
from jump.matte.overrides import Overrides
from jump.matte.settings import MatteSettings
from jump.probe import Probe

log = logging.getLogger("jump.matte")

# JUMP_CUDA_GRAPH=1 replays the graph as CUDA graphs (fixed shapes, CUDA provider only)
CUDA_GRAPH_ENV = "JUMP_CUDA_GRAPH"
THUMB_STEP = 16
_TO_BGRA = {
    "bgr": cv2.COLOR_BGR2BGRA,
    "rgb": cv2.COLOR_RGB2BGRA,
    "rgba": cv2.COLOR_RGBA2BGRA,
}  # the scene-cut thumbnail: every 16th pixel of the grey work frame


def unsupported(settings: MatteSettings, overrides: Overrides) -> str | None:
    """Why these settings need the numpy engine, or None when the graph does it all."""
    if settings.use_plate or overrides.capturing or settings.keep_zones or settings.grow_px:
        return "the user's corrections"
    if settings.motion_gating:
        return "motion gating"
    if settings.low_light == "on":
        return "low-light assist"
    return None


class DeviceMatteEngine(Engine):
    """The mask on the execution provider, the numpy engine behind it. ``model_id`` and
    ``model_type``: what ``jump.matte.models.model_type_of`` resolved for
    ``settings.model`` (resolved here when not given); the type builds the graph."""

    def __init__(
        self,
        settings: MatteSettings | None = None,
        models_dir: str | os.PathLike[str] | None = None,
        probe: Probe | None = None,
        model_id: str | None = None,
        model_type: type[MatteModel] | None = None,
    ) -> None:
        self.settings = settings or MatteSettings()
        self.models_dir = models_dir
        self.probe = probe
        self.overrides = Overrides()
        self.last_inference_ms = 0.0
        self.path = None  # DevicePath, built on the first frame (it needs the work size)
        self.fallback: MatteEngine | None = None  # the CPU engine after a device failure
        self._engine: MatteEngine | None = None  # the numpy engine for unsupported settings
        self._key: tuple | None = None
        self._thumb: np.ndarray | None = None
        self._load_model(model_id, model_type)

    def _load_model(self, model_id: str | None, model_type: type[MatteModel] | None) -> None:
        s = self.settings
        if model_id is None or model_type is None:
            model_id, model_type = model_type_of(s.model, self.models_dir)
        self.model_id, self.model_type = model_id, model_type
        try:
            entry = catalogue.get_entry(self.model_id)
            self.model_path: Path = catalogue.find_model(self.model_id, self.models_dir)
        except catalogue.ModelError as exc:
            raise MatteModelError(str(exc)) from exc
        self.spec = ModelSpec.from_entry(entry)
        if model_type.device_graph.__func__ is MatteModel.device_graph.__func__:
            raise MatteModelError(f"model {self.model_id!r}: its type has no device graph")
        try:
            self.proto = onnx.load(os.fspath(self.model_path))
        except Exception as exc:
            raise MatteModelError(f"model {self.model_id!r} could not be read: {exc}") from exc
        self.providers = resolve_providers(s.provider)
        self.path, self._key = None, None

    # -- the engine interface -----------------------------------------------------------

    @property
    def input_size(self) -> tuple[int, int]:
        return self.spec.input_size

    def reset(self) -> None:
        if self.path is not None:
            self.path.reset()
        for engine in (self._engine, self.fallback):
            if engine is not None:
                engine.reset()

    def update(self, settings: MatteSettings) -> None:
        old, self.settings = self.settings, settings
        if settings.needs_new_session(old):
            self._load_model(None, None)
            self.fallback = None
        for engine in (self._engine, self.fallback):
            if engine is not None:
                engine.update(
                    settings if engine is self._engine else settings.with_(provider="cpu")
                )

    def _matte(self, frame: np.ndarray, fmt: str, want_raw: bool) -> MatteResult:
        if self.fallback is not None:
            return self.fallback.process_detailed(frame, fmt, want_raw)
        if unsupported(self.settings, self.overrides) is not None:
            return self._numpy_engine().process_detailed(frame, fmt, want_raw)
        if fmt != "bgra":  # the CLI's and the evaluation's pictures; OBS stages BGRA
            frame, fmt = cv2.cvtColor(frame, _TO_BGRA[fmt]), "bgra"
        h, w = frame.shape[:2]
        ww, wh = self.work_size(w, h)
        work = (
            frame
            if (ww, wh) == (w, h)
            else cv2.resize(frame, (ww, wh), interpolation=cv2.INTER_AREA)
        )
        t0 = cv2.getTickCount()
        try:
            alpha, colour = self._run(work)
        except Exception as exc:  # the device went away: the CPU takes this very frame
            return self._fall_back(exc, frame, fmt, want_raw)
        self.last_inference_ms = (cv2.getTickCount() - t0) * 1e3 / cv2.getTickFrequency()
        alpha8 = alpha.copy()
        if (ww, wh) != (w, h):
            alpha8 = cv2.resize(alpha8, (w, h), interpolation=cv2.INTER_LINEAR)
        edge = None if colour is None else colour.copy()
        return MatteResult(alpha8, alpha8, True, edge_colour=edge)

    # -- the device path ----------------------------------------------------------------

    def _run(self, work: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        wh, ww = work.shape[:2]
        key = self._graph_key(ww, wh)
        if key != self._key:
            self._build(ww, wh, key)
        assert self.path is not None
        if self.model_type.recurrent:
            thumb = cv2.cvtColor(work[::THUMB_STEP, ::THUMB_STEP], cv2.COLOR_BGRA2GRAY)
            last, self._thumb = self._thumb, thumb
            if last is not None and float(cv2.absdiff(last, thumb).mean()) > SCENE_CUT_LEVEL:
                self.path.reset()  # a cut: the memory of the last scene would mislead it
        if self.probe is not None:
            with self.probe.stage("device run"):
                return self.path.run(work)
        return self.path.run(work)

    def _graph_key(self, ww: int, wh: int) -> tuple:
        params = self.model_type.device_key(self.spec, self.settings, (ww, wh))
        return (ww, wh, self._post(ww, wh), params)

    def _post(self, ww: int, wh: int) -> dg.PostSettings:
        s = self.settings
        _, _, _, ch = fit_rect(ww, wh, *self.spec.input_size, self.spec.resize)
        return dg.PostSettings(
            feather_px=s.feather_px * wh / REFERENCE_HEIGHT,
            temporal=s.temporal,
            motion_px=s.motion_px,
            decontaminate_px=(s.decontaminate_radius_px * wh / REFERENCE_HEIGHT)
            if s.decontaminate
            else 0.0,
            threshold=s.threshold,
            soft_edge=s.soft_edge,
            refine=("colour" if s.refine_colour else "grey") if s.refine else "off",
            refine_radius=max(1, round(s.refine_radius_px * ch / REFERENCE_HEIGHT)),
            refine_eps=s.refine_eps,
        )

    def _build(self, ww: int, wh: int, key: tuple) -> None:
        from jump.matte.device_path import DevicePath

        post = self._post(ww, wh)
        graph = self.model_type.device_graph(self.proto, self.spec, self.settings, (ww, wh), post)
        cuda_graph = os.environ.get(CUDA_GRAPH_ENV, "") == "1"
        # the graph (frame, states, outputs) has fixed shapes: CUDA graphs can replay it
        self.path = DevicePath(
            graph,
            (ww, wh),
            sessions.resolve_providers(self.settings.provider, cuda_graph=True)
            if cuda_graph
            else self.providers,
            self.settings.threads,
            recurrent=self.model_type.recurrent,
            warmup_passes=self.model_type.warmup_passes,
            name=f"{self.model_path.name} (Jump's graph, {ww}×{wh})",
        )
        self._key, self._thumb = key, None
        log.info("Jump Matte: %s graph built for %d×%d on %s", self.model_id, ww, wh, self.path.provider)  # fmt: skip

    # -- the numpy engine behind it -----------------------------------------------------

    def _numpy_engine(self) -> MatteEngine:
        if self._engine is None:
            self._engine = MatteEngine(self.settings, self.models_dir, self.probe)
            self._engine.overrides = self.overrides
        return self._engine

    def _fall_back(
        self, exc: Exception, frame: np.ndarray, fmt: str, want_raw: bool
    ) -> MatteResult:
        provider = self.path.provider if self.path is not None else "the provider"
        log.warning(
            "Jump Matte: the %s run failed (%s: %s); the CPU engine takes over",
            provider,
            type(exc).__name__,
            str(exc).strip()[:200],
        )
        self.path = None
        self.fallback = MatteEngine(
            self.settings.with_(provider="cpu"), self.models_dir, self.probe
        )
        self.fallback.overrides = self.overrides
        return self.fallback.process_detailed(frame, fmt, want_raw)
