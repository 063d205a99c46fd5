"""`python -m jump bench matte … --path`: the full path per mask, numpy engine vs device graph.

For one source size the work frame the filter would stage (BGRA, downscaled once up
front, as OBS does on the GPU) goes through the engine frame after frame on this thread,
exactly as on the worker thread. Reported per path:

- masks/s: sequential, wall clock (staged work frame in → uint8 alpha and edge colour out);
- worker CPU ms per mask: ``time.thread_time`` of this thread (the worker's own CPU);
- session ms per mask: wall time inside the ONNX Runtime runs (``InferenceSession.run``
  for the engine, ``run_with_iobinding`` for the graph);
- **outside the execution provider**: worker CPU minus session time, per mask — the
  work the provider does not do (numpy/OpenCV, Python, copies the engine makes);
- submit→mask latency and masks/s of a ``MatteWorker`` fed at ``fps``.

``JUMP_MATTE_PATH`` is set for the worker run so it takes the same path.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import cv2
import numpy as np

from jump.lab.matte.bench import SIZES, source_frame
from jump.matte.auto import PATH_ENV
from jump.matte.device_engine import DeviceMatteEngine
from jump.matte.engine import MatteEngine
from jump.matte.settings import MatteSettings
from jump.matte.worker import MatteWorker

PATHS = ("engine", "device")


@dataclass
class PathResult:
    path: str
    work: tuple[int, int]
    provider: str
    masks_per_s: float
    cpu_ms: float  # worker-thread CPU per mask
    session_ms: float  # wall time inside session runs per mask
    outside_ms: float  # cpu_ms - session_ms (≥ 0)
    worker_masks_per_s: float
    worker_latency_ms: float  # submit → mask, mean


def _timed_engine(settings: MatteSettings, models_dir: str | None, path: str):
    """(engine, a callable returning the seconds spent inside session runs so far)."""
    if path == "device":
        d = DeviceMatteEngine(settings, models_dir)
        return d, lambda: d.path.session_seconds if d.path is not None else 0.0
    e = MatteEngine(settings, models_dir)
    spent = [0.0]
    run = e.model.run

    def timed(tensor):
        t0 = time.perf_counter()
        try:
            return run(tensor)
        finally:
            spent[0] += time.perf_counter() - t0

    e.model.run = timed  # type: ignore[method-assign]
    return e, lambda: spent[0]


def bench_path(
    settings: MatteSettings,
    models_dir: str | None,
    path: str,
    size: str = "1080p",
    frames: int = 200,
    warmup: int = 20,
    fps: float = 60.0,
) -> PathResult:
    w, h = SIZES[size]
    matter, session_s = _timed_engine(settings, models_dir, path)
    ww, wh = matter.work_size(w, h)
    work = cv2.resize(source_frame(w, h), (ww, wh), interpolation=cv2.INTER_AREA)
    # a little sensor noise per frame, so nothing can be skipped as "the same picture"
    rng = np.random.default_rng(0)
    noisy = [cv2.add(work, rng.integers(0, 3, work.shape, np.uint8)) for _ in range(8)]
    for i in range(warmup):
        matter.process_detailed(noisy[i % 8], "bgra", want_raw=False)
    s0, c0, t0 = session_s(), time.thread_time(), time.perf_counter()
    for i in range(frames):
        matter.process_detailed(noisy[i % 8], "bgra", want_raw=False)
    wall = time.perf_counter() - t0
    cpu = (time.thread_time() - c0) / frames * 1e3
    sess = (session_s() - s0) / frames * 1e3
    provider = _provider(matter)
    rate, latency = _worker(settings, models_dir, path, noisy, fps)
    return PathResult(
        path, (ww, wh), provider, frames / wall, cpu, sess, max(0.0, cpu - sess), rate, latency
    )


def _provider(matter) -> str:
    if isinstance(matter, DeviceMatteEngine):
        return matter.path.provider if matter.path is not None else "?"
    from jump.sessions import running_provider

    return running_provider(matter.model.session)


def _worker(
    settings: MatteSettings,
    models_dir: str | None,
    path: str,
    frames: list[np.ndarray],
    fps: float,
    seconds: float = 3.0,
) -> tuple[float, float]:
    """(masks/s, mean submit→mask ms) of a worker fed at ``fps`` for ``seconds``."""
    old = os.environ.get(PATH_ENV)
    os.environ[PATH_ENV] = path
    try:
        with MatteWorker(settings, models_dir) as worker:
            worker.wait_ready()
            if worker.error:
                raise RuntimeError(worker.error)
            for i in range(20):  # warm-up: graph build, first passes
                worker.submit(frames[i % len(frames)], -1 - i)
                time.sleep(1 / fps)
            time.sleep(0.5)
            masks0 = worker.stats.masks
            worker.stats.mean_end_to_end_ms = 0.0
            start = time.perf_counter()
            n = 0
            while time.perf_counter() - start < seconds:
                target = start + n / fps
                time.sleep(max(0.0, target - time.perf_counter()))
                worker.submit(frames[n % len(frames)], n)
                n += 1
            elapsed = time.perf_counter() - start
            stats = worker.stats
            done = stats.masks - masks0
            # the running mean still holds the warm-up masks' weight: recompute on the tail
            return done / elapsed, stats.mean_end_to_end_ms * stats.masks / max(1, done)
    finally:
        if old is None:
            os.environ.pop(PATH_ENV, None)
        else:
            os.environ[PATH_ENV] = old


def report(results: list[PathResult], fps: float) -> None:
    print(
        "| path | provider | work | masks/s | worker CPU ms/mask | in session ms/mask | "
        f"outside EP ms/mask | worker at {fps:g} fps: masks/s | submit→mask ms |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )
    for r in results:
        print(
            f"| {r.path} | {r.provider} | {r.work[0]}×{r.work[1]} | {r.masks_per_s:.1f} | "
            f"{r.cpu_ms:.2f} | {r.session_ms:.2f} | {r.outside_ms:.2f} | "
            f"{r.worker_masks_per_s:.1f} | {r.worker_latency_ms:.1f} |",
            flush=True,
        )
    for r in results:
        print(
            f"{r.path}: outside the execution provider: {r.outside_ms:.2f} ms CPU per mask; "
            f"full path {r.masks_per_s:.1f} masks/s"
        )
