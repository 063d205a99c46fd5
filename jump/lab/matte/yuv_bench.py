"""What a webcam's frame costs Jump Matte on the async path: ``python -m jump.lab.matte.yuv_bench``.

Per source size and format: the copy ``filter_video`` makes on OBS's graphics thread
(``jump.obs.video_frame``: one memmove per plane, from an ``obs_source_frame`` built in
memory as OBS holds it) and the conversion to BGRA at the work size on the worker's
thread (``jump.matte.yuv.to_bgra``), median milliseconds over ``--repeat`` runs. A timing:
run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import time

import numpy as np

from jump.lab.matte.webcam_frames import encode
from jump.matte import yuv
from jump.obs import libobs as L
from jump.obs.video_frame import FORMATS, AsyncFrame, FramePool

CODES = {name: code for code, (name, _) in FORMATS.items()}


def _frame(planes) -> tuple[int, object]:
    raw = L.obs_source_frame()
    for i, plane in enumerate(planes.planes):
        raw.data[i], raw.linesize[i] = plane.ctypes.data, plane.shape[1]
    raw.width, raw.height, raw.format = planes.width, planes.height, CODES[planes.format]
    for i, v in enumerate(planes.color_matrix.ravel()):
        raw.color_matrix[i] = float(v)
    return ctypes.addressof(raw), raw


def _median_ms(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        call()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--formats", default="I420,NV12,YUY2,BGRA")
    ap.add_argument("--sources", default="1280x720,1920x1080")
    ap.add_argument("--work", default="512x288,896x504", help="work sizes (MediaPipe, RVM)")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    works = [tuple(map(int, s.split("x"))) for s in args.work.split(",")]
    print(f"{'source':10s} {'format':6s} {'copy ms':>8s} " + " ".join(
        f"{f'to {w}x{h} ms':>14s}" for w, h in works))  # fmt: skip
    for source in args.sources.split(","):
        w, h = map(int, source.split("x"))
        picture = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        for fmt in args.formats.split(","):
            planes = encode(picture, fmt, pad=64)
            ptr, keep = _frame(planes)
            pool = FramePool(1)

            def copy(ptr=ptr, pool=pool) -> None:
                AsyncFrame(ptr).copy(pool).release()

            cells = [_median_ms(copy, args.repeat)]
            cells += [
                _median_ms(lambda s=s, p=planes: yuv.to_bgra(p, s), args.repeat) for s in works
            ]
            print(f"{source:10s} {fmt:6s} " + " ".join(f"{c:8.2f}" if i == 0 else f"{c:14.2f}"
                                                       for i, c in enumerate(cells)))  # fmt: skip
            del keep
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
