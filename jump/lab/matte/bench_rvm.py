"""`python -m jump bench matte --model rvm`: the full RVM engine's mask rate and CPU cost.

For each inner size (long side of RVM's inner pass) the work picture is what the filter
hands the worker for a 1080p source (the manifest's 16:9 inner size × ``work_scale``,
downscaled on the GPU in OBS, here once up front), and ``MatteEngine.process_detailed`` runs
on it frame after frame — recurrent state, decontamination, temporal smoothing, every
host↔device copy the provider makes — exactly as on the worker thread. Reported:
masks/s (wall, best of ``windows`` windows, so other processes on a shared machine
cost as little as possible), CPU time per mask (``time.process_time``: all threads of
this process, independent of load), and the bare ``InferenceSession.run`` time on the
same tensors interleaved in the same loop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from jump.lab.matte import synth
from jump.matte.engine import MatteEngine
from jump.matte.models.rvm import STATE_NAMES
from jump.matte.settings import MatteSettings

INNER_SIZES = (256, 288, 320, 384, 448)


@dataclass
class RateResult:
    inner: int
    work: tuple[int, int]
    ratio: float
    masks_per_s: float  # full engine, best window
    cpu_ms_per_mask: float  # process CPU time per mask, all threads
    bare_ms: float  # InferenceSession.run alone (median)
    engine_ms: float  # MatteEngine.process_detailed (median)


def source_frame(w: int, h: int) -> np.ndarray:
    fgs = {p.stem: p for p in synth.foreground_paths()}
    bgs = synth.background_paths()
    fg = synth.load_rgba(fgs.get("p3m-bac3c1ff") or next(iter(fgs.values())))
    colour, alpha = synth.place(fg, w, h, 0.95, 0.5, 1.0)
    return synth.compose(colour, alpha, synth.cover(synth.load_bgr(bgs[0]), w, h), 1.0, 2.0)


def bench_inner(
    settings: MatteSettings,
    models_dir: str | None,
    inner: int,
    frames: int,
    windows: int = 3,
    source: tuple[int, int] = (1920, 1080),
) -> RateResult:
    matter = MatteEngine(settings, models_dir)
    model = matter.model
    model.inner_long = inner
    # the work size the filter would use if the manifest's inner size were ``inner``
    ww, wh = matter.work_size(*source)
    scale = inner / max(model.input_size)
    ww, wh = max(4, round(ww * scale)), max(4, round(wh * scale))
    frame = cv2.cvtColor(
        cv2.resize(source_frame(*source), (ww, wh), interpolation=cv2.INTER_AREA),
        cv2.COLOR_BGR2BGRA,
    )
    for _ in range(3):  # warm-up: first runs allocate and plan
        matter.process_detailed(frame, "bgra", want_raw=False)
    rgb = cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
    src = (rgb.transpose(2, 0, 1)[None] / 255.0).astype(np.float32)
    feed = {"src": src, "downsample_ratio": np.array([model.ratio], np.float32)}
    best_rate, cpu, engine_ms, bare_ms = 0.0, [], [], []
    per_window = max(1, frames // windows)
    for _ in range(windows):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(per_window):
            t = time.perf_counter()
            matter.process_detailed(frame, "bgra", want_raw=False)
            engine_ms.append((time.perf_counter() - t) * 1e3)
        wall, used = time.perf_counter() - t0, time.process_time() - c0
        best_rate = max(best_rate, per_window / wall)
        cpu.append(used / per_window * 1e3)
        # the bare session on the same tensor and states, outside the timed window
        for name, value in zip(STATE_NAMES, model.state.inputs(), strict=True):
            feed[f"{name}i"] = value
        for _ in range(max(1, per_window // 4)):
            t = time.perf_counter()
            model.session.run(None, feed)
            bare_ms.append((time.perf_counter() - t) * 1e3)
    return RateResult(
        inner,
        (ww, wh),
        model.ratio,
        best_rate,
        min(cpu),
        float(np.median(bare_ms)),
        float(np.median(engine_ms)),
    )


TABLE_HEAD = (
    "| inner long side | work (1080p source) | ratio | threads | masks/s (best window) | "
    "CPU ms/mask | engine ms (median) | bare run ms (median) |\n|---|---|---|---|---|---|---|---|"
)


def fmt_row(r: RateResult, threads: int) -> str:
    return (
        f"| {r.inner} | {r.work[0]}×{r.work[1]} | {r.ratio:.3f} | {threads} | "
        f"{r.masks_per_s:.1f} | {r.cpu_ms_per_mask:.1f} | {r.engine_ms:.1f} | {r.bare_ms:.1f} |"
    )


def run(
    model: str,
    models_dir: str | None,
    provider: str,
    threads_list: list[int],
    inners: list[int],
    frames: int,
    out=print,
) -> None:
    out(TABLE_HEAD)
    for threads in threads_list:
        settings = MatteSettings(model=model, threads=threads, provider=provider)
        for inner in inners:
            out(fmt_row(bench_inner(settings, models_dir, inner, frames), threads))
