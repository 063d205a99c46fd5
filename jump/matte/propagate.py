"""The heavy model's matte on every frame: run it when the CPU allows, carry it with motion.

A CPU without a GPU cannot run Robust Video Matting on every frame of a 30 fps source, but
it can run it every few frames. ``PropagatingEngine`` does that on a thread of its own
(the *key* thread) and gives every frame, on the caller's thread, the newest key matte
carried to that frame with the motion measured between the two pictures:

    frame ─► grey at FLOW_WIDTH ─► DIS optical flow (current → previous, ultrafast preset)
          ─► chained to a map current → key (one small remap a frame)
          ─► warp the key alpha (cv2.remap at work size)
          ─► residual |grey − warped key grey|: where the carry is wrong
          ─► "flow": the carried matte; "fuse": the light model where the residual is high

Why backwards (current → previous → … → key): ``remap`` needs, for every pixel of the
current frame, where it was in the key; forward flow would leave holes.

RVM's recurrent state sees only the keys, a steady sequence at the key rate (~10 Hz): it
stays coherent (it is the same video, sampled), it only reacts a few keys later to what
changed. On a scene cut the key is from another picture: carrying it is wrong, so the
cut frame and those until the next key show the light model's mask (MediaPipe, ~4 ms), a
key is asked for at once and RVM forgets its state (its own cut detector,
``jump.matte.model.SCENE_CUT_LEVEL``). Fast motion raises the residual: the next key is
asked for a frame early, and "fuse" takes the light model where the flow failed.

The filter draws a mask 2 frames after its picture (its hand-over, ``jump.matte.worker``)
unless "delay video" holds the picture back: the worker sets ``lead`` and the carry moves
the matte on by that many frames at the last frame's speed. The key runs at its model's
input size (the size everything is carried at), and waits when it would push the worker
(key thread + carry) over ``WORKER_CORES``.

OBS-free. ``jump.lab.matte.propagate_eval`` measures the methods on moving clips, and with
``--simulate-latency`` what the live viewer sees (``jump.lab.matte.live_sim``).
"""

from __future__ import annotations

import logging
import os
import threading
import time

import cv2
import numpy as np

from jump.matte.carry import Carrier, Key, fuse
from jump.matte.decontaminate import encode_delta_bgra
from jump.matte.engine import MatteEngine
from jump.matte.interface import Engine, MatteResult, work_size
from jump.matte.model import MatteModel
from jump.matte.settings import MatteSettings

log = logging.getLogger("jump.matte")

METHODS = ("flow", "fuse")
LIGHT_MODEL = "mediapipe"
# Mean |Δgrey| (0–255) of the whole frame after the warp above which the carry is wrong
# everywhere (a cut, a camera swing): the light model's mask until the next key.
CUT_RESIDUAL = 18.0
# The key thread runs RVM on one ONNX Runtime thread: one core at most for the keys, so
# the worker (keys + carry) stays near one core; a slower key only makes keys rarer.
KEY_THREADS = 1
# A carried rung fits while a key comes at least this often (0.5 s at 30 fps): older keys
# are carried further, and past that MediaPipe on every frame is the better picture.
MAX_KEY_FRAMES = 15
# Mean residual above which a key is asked for one frame early (fast motion).
HURRY_RESIDUAL = 6.0
# The key runs at its model's own input size (work scale 1: 448×252 for RVM on a 16:9
# source), the size the carry works at anyway: its refinement and decontamination at twice
# that size were only scaled down again (KeyRunner), and cost ~40 % of the key's CPU.
KEY_WORK_SCALE = 1.0
# The worker (key thread + the carry on the caller's thread) stays within this many cores:
# a key is asked for only once the key thread's CPU since the last one fits beside the
# carry's (on a fast CPU ``every`` binds first; on a slow one keys come rarer, not later).
WORKER_CORES = 1.0


class KeyRunner:
    """The heavy engine on a thread of its own: one frame at a time, the newest wins.

    ``inline`` (offline evaluation) runs the frame at once and releases its result
    ``latency`` frames later, which models a key thread that takes that long."""

    def __init__(self, engine: MatteEngine, inline: bool = False, latency: int = 0) -> None:
        self.engine = engine
        self.inline = inline
        self.latency = latency
        self.busy = False
        self._done: Key | None = None
        self._held: tuple[int, Key] | None = None  # inline: (release frame, key)
        self._cond = threading.Condition()
        self._job: tuple[np.ndarray, str, np.ndarray, int, int] | None = None
        self._closing = False
        self._thread: threading.Thread | None = None
        self._reset = False
        self.cpu_s = 0.0  # thread CPU time of the key thread (ONNX Runtime's pool not included)
        self.last_cpu_s = 0.0  # of the last key
        if not inline:
            self._thread = threading.Thread(target=self._run, name="jump-matte-key", daemon=True)
            self._thread.start()

    def submit(self, work: np.ndarray, fmt: str, grey: np.ndarray, frame: int, scene: int) -> None:
        self.busy = True
        if self.inline:
            key = self._process(work, fmt, grey, frame, scene)
            self._held = (frame + self.latency, key)
            return
        with self._cond:
            self._job = (work, fmt, grey, frame, scene)
            self._cond.notify()

    def poll(self, frame: int) -> Key | None:
        """The key finished since the last poll, if any (``frame``: the current one)."""
        if self.inline:
            if self._held is not None and frame >= self._held[0]:
                key, self._held, self.busy = self._held[1], None, False
                return key
            return None
        with self._cond:
            key, self._done = self._done, None
        return key

    def reset(self) -> None:
        """Forget the heavy engine's temporal state before its next frame."""
        with self._cond:
            self._reset = True

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None and threading.current_thread() is not self._thread:
            self._thread.join(5.0)

    def _process(self, work: np.ndarray, fmt: str, grey: np.ndarray, frame: int, scene: int) -> Key:
        if self._reset:
            self._reset = False
            self.engine.reset()
        t0 = time.perf_counter()
        out = self.engine.process_detailed(work, fmt, want_raw=False)
        # per pass: a fresh recurrent state runs its first picture several times (warm-up),
        # which must not count as the rung's steady cost for Auto
        passes = max(1, self.engine.model.last_passes)
        ms = (time.perf_counter() - t0) * 1e3 / passes
        # encoded once here, on the key thread, as the shader takes it (BGRA8 around 128,
        # linear in Δ): the carry then warps 8-bit pixels, and no frame encodes it again
        colour = None if out.delta is None else encode_delta_bgra(out.delta)
        # carried at the flow's resolution (half the work size): the warp then needs no
        # upscaled flow and touches a quarter of the pixels — 5x cheaper, same IoU, MAD
        # +0.2e-3 on the truth (docs/benchmarks.md); the result is upscaled once a frame
        size = grey.shape[::-1]
        alpha = cv2.resize(out.alpha, size, interpolation=cv2.INTER_AREA)
        if colour is not None:
            colour = cv2.resize(colour, size, interpolation=cv2.INTER_AREA)
        return Key(alpha, grey, frame, scene, ms, colour)

    def _run(self) -> None:
        # the key thread yields to OBS like the worker (Linux threads inherit nice anyway)
        from jump import thread_priority

        thread_priority.lower_current_thread(nice=10)
        while True:
            with self._cond:
                while not self._closing and self._job is None:
                    self._cond.wait()
                if self._closing:
                    return
                job, self._job = self._job, None
            c0 = time.thread_time()
            try:
                key = self._process(*job)
            except Exception:  # a bad frame must not stop the keys
                log.exception("Jump Matte: key frame failed")
                key = None
            self.last_cpu_s = time.thread_time() - c0
            self.cpu_s += self.last_cpu_s
            with self._cond:
                self._done = key
                self.busy = False


_GREY = {
    "bgra": cv2.COLOR_BGRA2GRAY,
    "rgba": cv2.COLOR_RGBA2GRAY,
    "bgr": cv2.COLOR_BGR2GRAY,
    "rgb": cv2.COLOR_RGB2GRAY,
}


class PropagatingEngine(Engine):
    """Engine-shaped (``process_detailed``, ``reset``, ``update``, ``work_size``): the
    heavy model every ``every``-th frame at most (when its thread is free), the carried
    matte on every frame. ``inline``/``latency``: see ``KeyRunner``."""

    def __init__(
        self,
        settings: MatteSettings,
        models_dir: str | os.PathLike[str] | None = None,
        every: int = 3,
        method: str = "flow",
        inline: bool = False,
        latency: int | None = None,
        model: MatteModel | None = None,
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}")
        self.settings = settings
        self.models_dir = models_dir
        self.every = max(1, int(every))
        self.method = method
        # OpenCV's own pool would spread the carry and the key's pre/post over every core:
        # the worker's one-core share is kept by its two threads alone (process-wide, and
        # nothing else of Jump's on a CPU-only machine wants OpenCV's pool)
        cv2.setNumThreads(1)
        heavy = MatteEngine(key_settings(settings), models_dir, model=model)
        self.model = heavy.model
        self.keys = KeyRunner(heavy, inline, self.every if latency is None else latency)
        self.light = MatteEngine(_light(settings), models_dir)
        self.carrier = Carrier()
        self.last_inference_ms = 0.0
        # for Auto: the carry must keep up with every frame, and a key must come at least
        # every MAX_KEY_FRAMES — the larger of the two, in the units of one frame's time
        self._cost_ms = 0.0
        self.fallbacks = 0  # frames shown with the light model because carrying was wrong
        self._key: Key | None = None
        self._frame = 0
        self._scene = 0
        self._last_submit = -(10**9)
        self._prev_thumb: np.ndarray | None = None
        self._carry_ms = 0.0
        self._carry_cpu_s = 0.0  # per frame, on the caller's thread (EMA)
        self._frame_wall_s = 0.0  # between frames (EMA)
        self._last_call = 0.0
        self._submit_wall = -1e9
        # frames between the picture a mask is made for and the one it is drawn on (the
        # filter's hand-over, 0 with "delay video"): the carry leads by that much
        self.lead = 0

    @property
    def overrides(self):
        return self.keys.engine.overrides

    @overrides.setter
    def overrides(self, value) -> None:
        self.keys.engine.overrides = value

    def work_size(self, source_w: int, source_h: int) -> tuple[int, int]:
        """The work size the settings ask for (what the filter captures); the key and the
        carry then work at the model's own input size (``KEY_WORK_SCALE``)."""
        engine = self.keys.engine
        return work_size(engine.input_size, self.settings.work_scale, source_w, source_h)

    @property
    def input_size(self) -> tuple[int, int]:
        return self.keys.engine.input_size

    def frame_cost_ms(self, call_ms: float) -> float:
        """For Auto: the carry must keep up with every frame, and a key must come at least
        every MAX_KEY_FRAMES — the larger of the two (the key runs beside the caller)."""
        return self._cost_ms

    def reset(self) -> None:
        self._key = None
        self._prev_thumb = None
        self.carrier.reset()
        self._scene += 1
        self.keys.reset()
        self.light.reset()

    def update(self, settings: MatteSettings) -> None:
        """Settings that need no new session (the worker reloads for the others)."""
        self.settings = settings
        self.keys.engine.update(key_settings(settings))
        self.light.update(_light(settings))

    def close(self) -> None:
        self.keys.close()

    def _key_fits(self, now: float, gap: int) -> bool:
        """Whether a key now keeps the worker within ``WORKER_CORES``: the key thread's CPU
        per key over the wall time since the last one, beside the carry's share. A key is
        never held back when one is due at once (no key: start, cut)."""
        if gap == 0 or self.keys.inline:
            return True
        wall = self._frame_wall_s
        per_key = self.keys.last_cpu_s
        if wall <= 0.0 or per_key <= 0.0:
            return True
        carry_share = min(0.9, self._carry_cpu_s / wall)
        return now - self._submit_wall >= per_key / max(0.1, WORKER_CORES - carry_share)

    def _matte(self, frame: np.ndarray, fmt: str, want_raw: bool) -> MatteResult:
        h, w = frame.shape[:2]
        t0, c0 = time.perf_counter(), time.thread_time()
        if self._last_call:
            step, wall = t0 - self._last_call, self._frame_wall_s
            self._frame_wall_s = step if wall == 0.0 else wall + 0.1 * (step - wall)
        self._last_call = t0
        ww, wh = self.keys.engine.work_size(w, h)
        work = (
            frame
            if (ww, wh) == (w, h)
            else cv2.resize(frame, (ww, wh), interpolation=cv2.INTER_AREA)
        )
        grey = self.carrier.grey(work, _GREY[fmt])
        t = self._frame
        self._frame += 1

        thumb = cv2.resize(grey, (32, 18), interpolation=cv2.INTER_AREA)
        cut = (
            self._prev_thumb is not None
            and float(cv2.absdiff(thumb, self._prev_thumb).mean()) > 30.0
        )
        self._prev_thumb = thumb
        if cut:
            self._scene += 1
            self._key = None  # of another picture: carrying it would be wrong
            self.carrier.reset()
        self.carrier.observe(grey, t)

        new = self.keys.poll(t)
        if new is not None:
            self.last_inference_ms = new.ms
            if new.scene == self._scene and new.grey.shape == grey.shape:
                self._key = new

        residual_mean = 0.0
        alpha: np.ndarray | None = None
        residual = delta = None
        if self._key is not None and self._key.alpha.shape == grey.shape:
            alpha, residual, residual_mean, delta = self.carrier.carry(
                self._key, grey, t, self.lead
            )
        # no key (start, cut): at once; fast motion: one frame early, not more, so the
        # key thread stays within the rung's share of the CPU
        gap = 0 if self._key is None else self.every - (residual_mean > HURRY_RESIDUAL)
        if not self.keys.busy and t - self._last_submit >= gap and self._key_fits(t0, gap):
            self.keys.submit(np.array(work, copy=True), fmt, grey, t, self._scene)
            self._last_submit = t
            self._submit_wall = t0
        if alpha is None or residual_mean > CUT_RESIDUAL:
            alpha = self.light.process_detailed(work, fmt, want_raw=False).alpha
            delta = None  # the light model's edges are not the key's
            self.fallbacks += 1
        elif self.method == "fuse":
            light = self.light.process_detailed(work, fmt, want_raw=False).alpha
            light = cv2.resize(light, grey.shape[::-1], interpolation=cv2.INTER_AREA)
            alpha = fuse(alpha, light, residual)

        if not self.settings.decontaminate:
            delta = None
        if alpha.shape != (h, w):
            alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR)
        if delta is not None and delta.shape[:2] != (h, w):
            delta = cv2.resize(delta, (w, h), interpolation=cv2.INTER_LINEAR)
        ms = (time.perf_counter() - t0) * 1e3
        self._carry_ms += 0.1 * (ms - self._carry_ms) if self._frame > 1 else ms
        cpu = time.thread_time() - c0
        self._carry_cpu_s += 0.1 * (cpu - self._carry_cpu_s) if self._frame > 1 else cpu
        key_ms = self.last_inference_ms
        self._cost_ms = max(self._carry_ms, key_ms / MAX_KEY_FRAMES)
        # delta: the key's colour correction already encoded (BGRA uint8, see KeyRunner)
        return MatteResult(alpha, alpha, new is not None, None, delta)


__all__ = ["Carrier", "Key", "KeyRunner", "PropagatingEngine", "fuse", "key_settings"]


def key_settings(settings: MatteSettings) -> MatteSettings:
    """The settings the heavy model runs with on the key thread (its session's threads)."""
    return settings.with_(threads=min(settings.threads, KEY_THREADS), work_scale=KEY_WORK_SCALE)


def _light(settings: MatteSettings) -> MatteSettings:
    # one thread: it runs on the caller's thread beside the key thread's model; its
    # decontamination is not needed (carried frames carry the key's)
    return settings.with_(
        model=LIGHT_MODEL, rvm_inner=0, threads=1, key_every=1, decontaminate=False
    )
