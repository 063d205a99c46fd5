"""`python -m jump bench matte`: mask rate, latency, engine overhead, worker lag.

For each source size the source frame (a composite) is downscaled to the work size the
way the filter would — here on the CPU with cv2.resize INTER_AREA, in OBS on the GPU —
and the work frame goes through ``MatteEngine.process``. In the same loop, interleaved frame
by frame, the bare ``InferenceSession.run`` runs on the same input tensor, so the ratio
engine/bare is measured under the same load.
"""

from __future__ import annotations

import platform
import statistics
import time
from dataclasses import dataclass

import cv2
import numpy as np

from jump.lab.matte import synth
from jump.matte.engine import MatteEngine
from jump.matte.settings import MatteSettings
from jump.matte.worker import MatteWorker

SIZES = {"360p": (640, 360), "720p": (1280, 720), "1080p": (1920, 1080), "4k": (3840, 2160)}


@dataclass
class SizeResult:
    size: str
    work: tuple[int, int]
    resize_ms: float  # source → work on the CPU (the filter does this on the GPU)
    bare_ms: float  # InferenceSession.run alone
    process_ms: float  # MatteEngine.process on the work frame (inference + everything else)
    ratio: float  # process / bare
    masks_per_s: float  # sequential, resize + process


@dataclass
class LagResult:
    fps: float
    frames: int
    masks: int
    lag_mean: float  # frames between the submitted frame and the newest mask at submit
    lag_max: int
    within_one: float  # fraction of frames whose newest mask was ≤ 1 frame old
    e2e_mean_ms: float
    dropped: int


def source_frame(w: int, h: int) -> np.ndarray:
    """A BGRA composite of a person over a real photo at the source size."""
    fg, bg = _clip_sources()
    colour, alpha = synth.place(fg, w, h, 0.9, 0.5, 1.0)
    frame = synth.compose(colour, alpha, synth.cover(bg, w, h), 1.0, 2.0)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)


def _clip_sources() -> tuple[np.ndarray, np.ndarray]:
    from jump.lab.matte.evaluate import clip_sources

    return clip_sources()


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1e3


def bench_size(matter: MatteEngine, name: str, frames: int, warmup: int = 10) -> SizeResult:
    w, h = SIZES[name]
    src = source_frame(w, h)
    ww, wh = matter.work_size(w, h)
    session, model = matter.model.session, matter.model
    work = cv2.resize(src, (ww, wh), interpolation=cv2.INTER_AREA)
    _, _, cw, ch = model.content_rect(ww, wh)
    rgb = cv2.cvtColor(cv2.resize(work, (cw, ch), interpolation=cv2.INTER_AREA), cv2.COLOR_BGRA2RGB)
    tensor = model.tensor(rgb).copy()
    feed = {model.input_name: tensor}
    outs = [model.output_name]
    t_resize, t_bare, t_proc = [], [], []
    for i in range(warmup + frames):
        t0 = time.perf_counter()
        work = cv2.resize(src, (ww, wh), interpolation=cv2.INTER_AREA)
        t1 = time.perf_counter()
        session.run(outs, feed)
        t2 = time.perf_counter()
        matter.process(work, "bgra")
        t3 = time.perf_counter()
        if i >= warmup:
            t_resize.append(t1 - t0)
            t_bare.append(t2 - t1)
            t_proc.append(t3 - t2)
    bare, proc, rs = median_ms(t_bare), median_ms(t_proc), median_ms(t_resize)
    return SizeResult(name, (ww, wh), rs, bare, proc, proc / bare, 1000.0 / (rs + proc))


def bench_lag(
    settings: MatteSettings, models_dir: str | None, size: str, fps: float = 30.0, frames: int = 90
) -> LagResult:
    """Feed a worker at ``fps`` as OBS would (work-size frames) and record the mask lag."""
    w, h = SIZES[size]
    with MatteWorker(settings, models_dir) as worker:
        worker.wait_ready()
        if worker.error:
            raise RuntimeError(worker.error)
        ww, wh = worker.work_size(w, h)
        work = cv2.resize(source_frame(w, h), (ww, wh), interpolation=cv2.INTER_AREA)
        # warm-up so the first masks do not count session start-up
        for i in range(10):
            worker.submit(work, -1 - i)
            time.sleep(1 / fps)
        lags = []
        period = 1.0 / fps
        start = time.perf_counter()
        for n in range(frames):
            target = start + n * period
            time.sleep(max(0.0, target - time.perf_counter()))
            worker.submit(work, n)
            latest = worker.newest()
            if n > 0:
                lags.append(n - latest[1] if latest and latest[1] >= 0 else n + 1)
        time.sleep(0.2)
        stats = worker.stats
        return LagResult(
            fps,
            frames,
            stats.masks,
            float(np.mean(lags)),
            int(max(lags)),
            float(np.mean(np.asarray(lags) <= 1)),
            stats.mean_end_to_end_ms,
            stats.dropped,
        )


def stage_times(
    matter: MatteEngine, size: str = "1080p", runs: int = 200
) -> list[tuple[str, float]]:
    """Median ms of each pipeline stage on one work frame, each run alone."""
    from jump.matte import refine
    from jump.matte.engine import GF_SUBSAMPLE, REFERENCE_HEIGHT, to_u8
    from jump.matte.temporal import MotionAdaptiveSmoother

    s = matter.settings
    w, h = SIZES[size]
    ww, wh = matter.work_size(w, h)
    work = cv2.resize(source_frame(w, h), (ww, wh), interpolation=cv2.INTER_AREA)
    model = matter.model
    _, _, cw, ch = model.content_rect(ww, wh)
    code = cv2.COLOR_BGRA2RGB if model.colour == "RGB" else cv2.COLOR_BGRA2BGR
    pixels = cv2.cvtColor(cv2.resize(work, (cw, ch), interpolation=cv2.INTER_AREA), code)
    grey = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    tensor = model.tensor(pixels).copy()
    raw = model.run(tensor)
    prob = model.probability(raw)
    mask = refine.soft_threshold(prob, s.threshold, s.soft_edge)
    guide = cv2.cvtColor(work, code)  # as the engine: the model's colour order
    grey_guide = cv2.cvtColor(work, cv2.COLOR_BGRA2GRAY).astype(np.float32) * (1 / 255)
    radius = max(1, round(s.refine_radius_px * ch / REFERENCE_HEIGHT))
    alpha = refine.guided_upsample_colour(
        mask, guide, radius, s.refine_eps, GF_SUBSAMPLE, guide_low=pixels
    )
    smoother = MotionAdaptiveSmoother(s.temporal, s.motion_px)  # what the engine runs
    smoother(alpha, grey)
    stages = {
        "downscale work → model input, colour order": lambda: cv2.cvtColor(
            cv2.resize(work, (cw, ch), interpolation=cv2.INTER_AREA), code
        ),
        "normalise into the input tensor (LUT)": lambda: model.tensor(pixels),
        "InferenceSession.run": lambda: model.run(tensor),
        "person probability (softmax)": lambda: model.probability(raw),
        "blob clean-up": lambda: refine.clean_blobs(prob, s.threshold, s.min_blob, s.fill_holes),
        "soft threshold": lambda: refine.soft_threshold(prob, s.threshold, s.soft_edge),
        "guided filter, colour (default)": lambda: refine.guided_upsample_colour(
            mask, guide, radius, s.refine_eps, GF_SUBSAMPLE, guide_low=pixels
        ),
        "guided filter, grey": lambda: refine.guided_upsample(
            mask, grey_guide, radius, s.refine_eps
        ),
        "temporal smoothing": lambda: smoother(alpha, grey),
        "to uint8": lambda: to_u8(alpha.copy()),
        "whole MatteEngine.process": lambda: matter.process(work),
    }
    out = []
    for name, fn in stages.items():
        for _ in range(10):
            fn()
        ts = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        out.append((name, median_ms(ts)))
    matter.reset()
    return out


def environment() -> str:
    import onnxruntime as ort

    return (
        f"{platform.processor() or platform.machine()}, {_cores()} cores, "
        f"Python {platform.python_version()}, onnxruntime {ort.__version__}, "
        f"OpenCV {cv2.__version__}"
    )


def _cores() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
