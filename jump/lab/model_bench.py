"""Mask rate of a model (and its variants) per execution provider and input size.

Per frame, the measured path is what the engine does to get a raw mask from a frame:
anti-aliased downscale of a BGRA frame to the model input (``downscale``), colour conversion and
normalisation straight into the IO-bound input buffer (``FixedShapeRunner``), the run
with its host↔device copies, the person probability, and a bilinear upscale of that
probability back to the frame size. ``model_ms`` is the run alone (copies included);
``plain_ms`` is ``InferenceSession.run`` without IO binding, for comparison.

Frames are real composites (``jump.lab.matte.synth``), not zeros or noise.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("jump.bench")

SIZES: dict[str, tuple[int, int]] = {"720p": (1280, 720), "1080p": (1920, 1080), "4k": (3840, 2160)}


@dataclass
class BenchRow:
    model: str
    variant: str
    provider: str  # the provider that actually ran, not the one asked for
    size: str
    frames: int
    masks_per_s: float
    latency_ms: float  # median, frame in → mask at frame size out
    latency_p95_ms: float
    model_ms: float  # median FixedShapeRunner.run (host↔device copies included)
    plain_ms: float  # median InferenceSession.run on the same input

    def row(self) -> dict[str, Any]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


def _median_ms(fn: Any, repeat: int) -> float:
    times = np.empty(repeat)
    for i in range(repeat):
        t0 = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - t0
    return float(np.median(times) * 1e3)


def downscale(frame: np.ndarray, w: int, h: int) -> np.ndarray:
    """Area-averaged shrink to w×h: exact 2×2 box halvings, then one INTER_AREA step.

    OpenCV's INTER_AREA at a large non-integer ratio (1920→256 is 7.5×) takes its slow
    general path: 6–10 ms for a 1080p BGRA frame on the H100 host, more than the model
    on the GPU. A bilinear resize to exactly half size samples between each pixel pair,
    i.e. it *is* a 2×2 box average, on OpenCV's fast path; the final INTER_AREA step
    then works on a frame under twice the target, so the result stays an area average.
    """
    import cv2

    while frame.shape[1] >= 2 * w and frame.shape[0] >= 2 * h:
        half = (frame.shape[1] // 2, frame.shape[0] // 2)
        frame = cv2.resize(frame, half, interpolation=cv2.INTER_LINEAR)
    return cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)


def test_frame(size: tuple[int, int]) -> np.ndarray:
    """A BGRA composite of a person over a real photo at ``size``."""
    import cv2

    from jump.lab.matte import synth

    sample = next(synth.still_set(size, quick=True))
    return cv2.cvtColor(sample.frame, cv2.COLOR_BGR2BGRA)


def bench_model(
    model_id: str,
    variant_path: str | os.PathLike[str] | None,
    provider: str = "auto",
    sizes: Sequence[str] = ("720p", "1080p", "4k"),
    frames: int = 300,
    threads: int = 2,
    cuda_graph: bool = False,
) -> list[BenchRow]:
    """One row per input size for ``model_id`` (or a variant file with its engine fields)."""
    import cv2

    from jump import catalogue, sessions
    from jump.lab.fixed_shape import FixedShapeRunner

    # The engine's model object does pre/post-processing; its session is replaced by
    # one on the provider under test, run through FixedShapeRunner.
    model = _bound_model_type()(model_id, threads=1, provider="cpu")
    path = Path(variant_path) if variant_path else catalogue.find_model(model_id)
    specs = sessions.resolve_providers(provider, cuda_graph=cuda_graph)
    session = sessions.create_session(path, threads, specs)
    runner = FixedShapeRunner(session)
    actual = sessions.running_provider(session)
    if sessions.cuda_graph_enabled(session):
        actual += "+graph"
    model.bind_input(runner.input_buffer)  # pre-process straight into the bound buffer
    name = path.stem
    rows = []
    for size_name in sizes:
        w, h = SIZES[size_name]
        frame = test_frame((w, h))
        _, _, cw, ch = model.content_rect(w, h)

        def one_mask(
            frame: np.ndarray = frame, w: int = w, h: int = h, cw: int = cw, ch: int = ch
        ) -> np.ndarray:
            small = downscale(frame, cw, ch)
            model.tensor(cv2.cvtColor(small, cv2.COLOR_BGRA2RGB))
            prob = model.probability(runner.run())
            return cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)

        for _ in range(20):  # cuDNN algorithm search, CUDA graph capture, caches
            one_mask()
        if not runner.input_buffer.any():
            # The engine's model wrote its tensor elsewhere: timing an all-zero input
            # would be a lie, so stop rather than report it.
            raise RuntimeError("pre-processing did not reach the bound input buffer")
        lat = np.empty(frames)
        t_all = time.perf_counter()
        for i in range(frames):
            t0 = time.perf_counter()
            one_mask()
            lat[i] = time.perf_counter() - t0
        total = time.perf_counter() - t_all
        model_ms = _median_ms(runner.run, frames)
        feed = {runner.input_name: runner.input_buffer.copy()}
        plain_ms = (
            float("nan")  # a graph-captured session runs only through its bound buffers
            if sessions.cuda_graph_enabled(session)
            else _median_ms(lambda feed=feed: session.run(None, feed), frames)
        )
        rows.append(
            BenchRow(
                model_id,
                name,
                actual,
                size_name,
                frames,
                frames / total,
                float(np.median(lat) * 1e3),
                float(np.percentile(lat, 95) * 1e3),
                model_ms,
                plain_ms,
            )
        )
        log.info("%s", rows[-1].row())
    return rows


def table(rows: Sequence[BenchRow]) -> str:
    head = "| model | variant | provider | input | masks/s | latency ms (p50 / p95) | run ms | plain run ms |"
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        lines.append(
            f"| {r.model} | {r.variant} | {r.provider} | {r.size} | {r.masks_per_s:.0f} | "
            f"{r.latency_ms:.2f} / {r.latency_p95_ms:.2f} | {r.model_ms:.3f} | {r.plain_ms:.3f} |"
        )
    return "\n".join(lines)


def _bound_model_type() -> type:
    """The runtime's segmentation model, pre-processing into a buffer the bench binds."""
    from jump.matte.models.segmentation import SegmentationModel

    class BoundSegmentationModel(SegmentationModel):
        def bind_input(self, buffer: np.ndarray) -> None:
            """Pre-process into ``buffer`` (an ORT IO-binding input of the model's shape)."""
            if buffer.shape != self._input.shape:
                raise ValueError(f"input buffer {buffer.shape} is not {self._input.shape}")
            self._input = buffer
            self._dtype = buffer.dtype
            self._rect_for = None

    return BoundSegmentationModel
