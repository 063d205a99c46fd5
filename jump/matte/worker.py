"""MatteWorker: the engine on one background thread, for OBS's render thread to feed.

The render thread must never wait on inference, so the hand-over is a single slot:
``submit`` copies the frame into it (replacing any frame not yet started — latest frame
wins, there is never a backlog) and returns; the worker takes the slot, runs the engine
and publishes ``(alpha, frame_id)``; ``newest`` returns it by reference. Every
call on the caller's side only takes a lock around a few assignments.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

import numpy as np

from jump.heap import HeapTrimmer
from jump.matte import yuv
from jump.matte.auto import AUTO, MatteChooser, model_of, on_device
from jump.matte.interface import Engine, work_size
from jump.matte.model import MatteModelError
from jump.matte.overrides import Overrides
from jump.matte.settings import MatteSettings
from jump.matte.yuv import PlaneFrame

log = logging.getLogger("jump.matte")

# Frames submitted further apart than this belong to another moment (source hidden, stream
# paused): temporal and recurrent state start over. Measured between submits, not between
# processed frames, so a worker slower than the source never counts as a pause.
MAX_GAP_S = 1.0
# The filter (jump/filters/matte.py) reads the newest mask at render i, before the worker
# is done with the frame it was just handed. For a synchronous source it hands the worker
# frame i − 1 at render i (its stage ring reads back last frame's copy): without "delay
# video" a mask is drawn on a picture 2 frames newer than its own. For an async source
# (webcam, media) it hands over frame i itself at the video tick, in OBS's filter_video,
# before render i: 1 frame. A carried rung (jump.matte.propagate) leads its matte by that.
FILTER_HANDOVER_FRAMES = 2  # staged: the GPU readback of the frame before
ASYNC_HANDOVER_FRAMES = 1  # async: the frame of this tick, from filter_video
HANDOVER_FRAMES = {"staged": FILTER_HANDOVER_FRAMES, "async": ASYNC_HANDOVER_FRAMES}
# Without "delay video" the filter gives OBS an async frame back one tick later
# (jump.obs.frame_hold), by when its mask is done: picture and mask of the same frame, 33 ms
# late at 30 fps — under the 45 ms by which sound may lead the picture unnoticed (ITU-R
# BT.1359). A staged frame is OBS's own render: it cannot be held back without a copy.
HELD_FRAMES = {"staged": 0, "async": 1}


def display_lead(delay_frames: int, frames_from: str = "staged") -> int:
    """Frames between a mask's picture and the picture it is drawn on, for a filter that
    draws its video ``delay_frames`` late ("delay video", or the held async frame:
    ``HELD_FRAMES``) and gets its frames ``frames_from`` "staged" (GPU readback) or
    "async" (filter_video)."""
    return max(0, HANDOVER_FRAMES[frames_from] - max(0, int(delay_frames)))


@dataclass
class WorkerStats:
    """Timing of finished masks (milliseconds). ``end_to_end`` runs from ``submit``."""

    masks: int = 0
    dropped: int = 0  # frames replaced in the slot before the worker took them
    resets: int = 0  # temporal/recurrent state forgotten (request, pause)
    model_runs: int = 0  # masks that came from a model run (not carried, not gated)
    mean_inference_ms: float = 0.0
    mean_end_to_end_ms: float = 0.0

    def add(self, inference_ms: float, e2e_ms: float) -> None:
        self.masks += 1
        k = 1.0 / self.masks
        self.mean_inference_ms += k * (inference_ms - self.mean_inference_ms)
        self.mean_end_to_end_ms += k * (e2e_ms - self.mean_end_to_end_ms)


class MatteWorker:
    """A MatteEngine on its own thread. Never blocks and never raises on the caller's side.

    ``submit`` **copies** the frame (the caller may reuse or unmap its buffer at once).
    If the model cannot be loaded, ``error`` holds a user-facing message, ``newest``
    stays None and submitted frames are ignored: the filter passes video through.
    """

    def __init__(
        self,
        settings: MatteSettings | None = None,
        models_dir: str | os.PathLike[str] | None = None,
        fmt: str = "bgra",
        fps: float = 30.0,
    ) -> None:
        self.fmt = fmt
        self.models_dir = models_dir
        self.error: str | None = None
        self.stats = WorkerStats()
        self.fps = 30.0  # the source's frame rate, for Auto's budget (set_fps)
        self.set_fps(fps)
        self.display_lead = FILTER_HANDOVER_FRAMES  # set_display_lead
        settings = settings or MatteSettings()
        self._chooser = MatteChooser(models_dir)
        self._wanted_settings = settings  # what the caller asked for last ("auto" included)
        self._settings = self._chooser.effective(settings, self.fps)  # what the engine runs
        self._running_model = self._settings.model
        self._input_size: tuple[str, tuple[int, int]] | None = None
        self._pending_settings: MatteSettings | None = None
        self._reset_pending = False
        self._capture_pending: tuple[int, float] | None = None
        # the clean plate and zones outlive an engine reload (a model change): the room
        # did not change, so every engine this worker loads shares them
        self.overrides = Overrides()
        self._cond = threading.Condition()
        self._slot: tuple[np.ndarray | PlaneFrame, int, float] | None = None
        self._last_submit: float | None = None
        self._convert_failed = False  # logged once
        self._heap = HeapTrimmer()  # OBS's malloc arenas keep freed frames otherwise
        # (alpha, frame_id), swapped in as one reference
        self._result: tuple[np.ndarray, int] | None = None
        self._closing = False
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jump-matte", daemon=True)
        self._thread.start()

    # -- caller side (OBS render/tick thread) ------------------------------------------

    def submit(self, frame: np.ndarray | PlaneFrame, frame_id: int) -> None:
        """Queue a copy of ``frame`` (HxWx4 BGRA uint8), or take ``frame``, an async
        source's planes (``jump.matte.yuv.PlaneFrame``: converted to BGRA at the work size
        on the worker's thread, then released); an unstarted older frame is dropped."""
        if self._closing or self.error is not None:
            _release(frame)
            return
        copy = np.array(frame, copy=True) if isinstance(frame, np.ndarray) else frame
        now = time.perf_counter()
        with self._cond:
            if self._slot is not None:
                self.stats.dropped += 1
                _release(self._slot[0])
            if self._last_submit is not None and now - self._last_submit > MAX_GAP_S:
                self._reset_pending = True
            self._last_submit = now
            self._slot = (copy, int(frame_id), now)
            self._cond.notify()

    @property
    def input_size(self) -> tuple[int, int]:
        """(w, h) of the current model's input, from the manifest (no session needed)."""
        model = self._running_model
        cached = self._input_size
        if cached is None or cached[0] != model:
            from jump.matte.model import spec_input_size

            # once per model id: the render thread asks for this every frame
            cached = self._input_size = (model, spec_input_size(model))
        return cached[1]

    def work_size(self, source_w: int, source_h: int) -> tuple[int, int]:
        """(w, h) to downscale a source to before ``submit`` (see ``MatteEngine.work_size``).

        Known before the model has loaded, so the filter can size its render target at once.
        """
        return work_size(self.input_size, self._wanted_settings.work_scale, source_w, source_h)

    @property
    def running(self) -> str:
        """What runs, for the stats line: "rvm 448 px (auto)", "mediapipe"."""
        return self._chooser.label(self._running_model)

    def set_fps(self, fps: float) -> None:
        """The source's frame rate: Auto's budget is a share of its frame interval."""
        if fps > 0 and fps == fps:
            self.fps = float(fps)

    def set_display_lead(self, frames: int) -> None:
        """How many frames newer the picture a mask is drawn on is than its own
        (``display_lead``): a carried matte is moved on by that much."""
        self.display_lead = max(0, int(frames))

    def newest(self) -> tuple[np.ndarray, int] | None:
        """(alpha, frame_id) of the newest mask, read at once; None before the first. The
        soft edges' colour is the shader's work (``jump.filters.matte_fusion``)."""
        return self._result

    def update(self, settings: MatteSettings) -> None:
        """New settings, applied by the worker before its next frame (a model change reloads)."""
        with self._cond:
            self._pending_settings = settings
            self._wanted_settings = settings
            if settings.model != AUTO:
                self._running_model = model_of(settings.model)
            self._cond.notify()

    def reset(self) -> None:
        """Forget temporal state before the next frame (scene cut, source change)."""
        with self._cond:
            self._reset_pending = True

    def capture_plate(self, frames: int = 45, seconds: float = 3.0) -> None:
        """Record the empty room from the next frames (``frames`` or ``seconds``, whichever
        comes first); the plate replaces the old one when done (see ``overrides.plate``)."""
        with self._cond:
            self._capture_pending = (int(frames), float(seconds))
            self._cond.notify()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the model loaded (or failed). For the CLI and tests, not for OBS."""
        return self._ready.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stop and join the thread. Safe to call twice."""
        with self._cond:
            self._closing = True
            if self._slot is not None:
                _release(self._slot[0])
            self._slot = None
            self._cond.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def __enter__(self) -> MatteWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- worker thread -----------------------------------------------------------------

    def _load(self, settings: MatteSettings) -> Engine | None:
        # decontamination runs in the filter's shader, from the mask: not in the engine
        settings = settings.with_(decontaminate=False)
        try:
            engine = open_engine(settings, self.models_dir)
        except MatteModelError as exc:
            self.error = str(exc)
            log.error("Jump Matte: %s", exc)
            return None
        except Exception as exc:  # anything else must not kill the thread silently
            self.error = f"matte engine failed to start: {type(exc).__name__}: {exc}"
            log.exception("Jump Matte: engine failed to start")
            return None
        self.error = None
        engine.overrides = self.overrides
        return engine

    def _run(self) -> None:
        _lower_priority()
        engine = self._load(self._settings)
        self._ready.set()
        while True:
            with self._cond:
                while not self._closing and self._slot is None and self._pending_settings is None:
                    self._cond.wait()
                if self._closing:
                    if engine is not None:
                        engine.close()
                    return
                job, self._slot = self._slot, None
                settings, self._pending_settings = self._pending_settings, None
                do_reset, self._reset_pending = self._reset_pending, False
                capture, self._capture_pending = self._capture_pending, None
            if capture is not None:
                self.overrides.capture(*capture)
            if settings is not None:
                engine = self._apply(engine, settings)
            if engine is None or job is None:
                if job is not None:
                    _release(job[0])
                continue
            if do_reset:
                engine.reset()
                self.stats.resets += 1
            frame, frame_id, t_submit = job
            engine.lead = self.display_lead
            t0 = time.perf_counter()
            if not isinstance(frame, np.ndarray):  # an async source's planes
                frame = self._convert(frame)
                if frame is None:
                    continue
            try:
                out = engine.process_detailed(frame, self.fmt, want_raw=False)
            except Exception:  # a bad frame must not stop the stream
                log.exception("Jump Matte: frame %d failed", frame_id)
                continue
            t1 = time.perf_counter()
            # one reference swap: readers never see a torn (alpha, id)
            self._result = (out.alpha, frame_id)
            self.stats.add(engine.last_inference_ms, (t1 - t_submit) * 1e3)
            self.stats.model_runs += int(out.inferred)
            cost = engine.frame_cost_ms((t1 - t0) * 1e3)
            if self._chooser.observe(t1, cost, self.fps):
                engine = self._apply(engine, self._wanted_settings)
            self._heap.maybe_trim()

    def _convert(self, planes: PlaneFrame) -> np.ndarray | None:
        """An async frame → BGRA at the work size (None if it cannot be: logged once),
        its buffer given back at once."""
        try:
            return yuv.to_bgra(planes, self.work_size(planes.width, planes.height))
        except Exception as exc:
            if not self._convert_failed:
                self._convert_failed = True
                log.error("Jump Matte: a %s frame could not be converted: %s", planes.format, exc)
            return None
        finally:
            planes.release()

    def _apply(self, engine: Engine | None, wanted: MatteSettings) -> Engine | None:
        """Settings the user set (or Auto's new rung for them), applied on this thread."""
        settings = self._chooser.effective(wanted, self.fps)
        self._running_model = settings.model
        old, self._settings = self._settings, settings
        if engine is None or settings.needs_new_session(old):
            if engine is not None:
                engine.close()
            return self._load(settings)
        engine.update(settings.with_(decontaminate=False))  # as _load
        return engine


def _release(frame: object) -> None:
    """Give an async frame's buffer back to its pool (arrays have none)."""
    release = getattr(frame, "release", None)
    if release is not None and not isinstance(frame, np.ndarray):
        release()


# When the CPU is saturated, a late mask is better than a lagging stream: the worker (and
# the ONNX Runtime threads its sessions start, which inherit it) yields to OBS's render,
# encoder and audio threads. Streaming with both filters on 2 cores with software
# rendering, OBS skipped 67 % of its renders at nice 0 and 40 % at nice 10, with the same
# mask rate (docs/benchmarks.md, "Streaming").
WORKER_NICE = 10


def _lower_priority() -> None:
    # Linux: nice WORKER_NICE; Windows and macOS: their own calls (jump/thread_priority.py,
    # which also says what happens to ONNX Runtime's threads on each)
    from jump import thread_priority

    thread_priority.lower_current_thread(nice=WORKER_NICE)


def open_engine(
    settings: MatteSettings, models_dir: str | os.PathLike[str] | None = None
) -> Engine:
    """The engine for settings the chooser resolved (a model id, never "auto"), with its
    model loaded here, once: the manifest's ``"type"`` names the class
    (``jump.matte.models.model_type_of``, which also falls back from a missing file),
    the class opens the session, and the engine that runs it gets the loaded model.

    - on the execution provider (``jump.matte.auto.on_device``): ``DeviceMatteEngine``,
      which asks the model's type for its graph instead of opening the model's session;
    - ``key_every`` > 1 and a recurrent model: ``PropagatingEngine`` (keys on a thread of
      their own, carried by motion);
    - else ``MatteEngine``.

    Raises MatteModelError with a message for the user.
    """
    from jump.matte.models import model_type_of

    model_id, model_type = model_type_of(settings.model, models_dir)
    if on_device(settings):  # the whole mask on the accelerator
        from jump.matte.device_engine import DeviceMatteEngine

        return DeviceMatteEngine(settings, models_dir, model_id=model_id, model_type=model_type)
    if settings.key_every > 1 and model_type.recurrent:
        from jump.matte.propagate import PropagatingEngine, key_settings

        s = key_settings(settings)
        model = model_type(model_id, models_dir, s.threads, s.provider)
        return PropagatingEngine(settings, models_dir, every=settings.key_every, model=model)
    from jump.matte.engine import MatteEngine

    model = model_type(model_id, models_dir, settings.threads, settings.provider)
    return MatteEngine(settings, models_dir, model=model)
