"""Cost of carrying a matte per frame (``jump.matte.propagate``) and how it scales.

``python -m jump.lab.matte.propagate_bench [--frames 120] [--threads 1]``: on one moving
clip (built on the fly if missing), median ms per frame of the flow picture, DIS flow,
the warp of the alpha and the (key-encoded) colour correction, and the light-model
fusion, at several work sizes
and flow resolutions; single-threaded OpenCV by default (the worker's share of a 2-core
box); then the key itself as the key thread runs it (RVM at its input size, one ONNX
Runtime thread, inner 256 and 320): wall and CPU ms per key, the frames it lands late at
30 fps (what ``propagate_eval --simulate-latency`` takes) and the worker's cores with a key
every 3rd frame. Timing figure: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from jump.lab.matte import moving_clips
from jump.matte import decontaminate
from jump.matte.carry import Carrier, Key, fuse
from jump.matte.decontaminate import encode_delta_bgra

WORK_SIZES = ((448, 252), (640, 360), (896, 504), (1280, 720))
FLOW_WIDTHS = (256, 448)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--threads", type=int, default=1, help="cv2.setNumThreads")
    args = ap.parse_args(argv)
    cv2.setNumThreads(args.threads)
    clip = list(moving_clips.frames("sway-p3m"))[: args.frames]
    print(f"median ms per frame over {len(clip)} frames, OpenCV threads {args.threads}")
    print("work size  flow   grey  flow+warp(+colour)  fuse  (encode)  total")
    for ws in WORK_SIZES:
        work = [cv2.cvtColor(cv2.resize(f, ws, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2BGRA)
                for f, _ in clip]  # fmt: skip
        alphas = [cv2.resize((a * 255).astype(np.uint8), ws, interpolation=cv2.INTER_AREA)
                  for _, a in clip]  # fmt: skip
        for fw in FLOW_WIDTHS:
            carrier = Carrier(fw)
            dec = decontaminate.EdgeDecontaminator()
            t = {"grey": [], "carry": [], "fuse": [], "dec": []}
            key = None
            for i, (frame, alpha) in enumerate(zip(work, alphas, strict=True)):
                t0 = time.perf_counter()
                grey = carrier.grey(frame, cv2.COLOR_BGRA2GRAY)
                t1 = time.perf_counter()
                carrier.observe(grey, i)  # the per-frame flow, timed with the carry
                if key is None or i % 3 == 0:
                    delta = dec(frame, alpha.astype(np.float32) * (1 / 255), 8.0 * ws[1] / 720)
                    key = Key(alpha, grey, i, 0, 0.0, encode_delta_bgra(delta))
                carried, residual, _, _ = carrier.carry(key, grey, i)
                t2 = time.perf_counter()
                fuse(carried, alpha, residual)
                t3 = time.perf_counter()
                t4 = t3  # the carried colour comes encoded (the key thread encodes it once)
                for k, v in zip(t, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                    t[k].append(v * 1e3)
            m = {k: float(np.median(v[5:])) for k, v in t.items()}
            print(
                f"{ws[0]}×{ws[1]:<4d} {fw:4d}  {m['grey']:5.2f}  {m['carry']:9.2f}  "
                f"{m['fuse']:4.2f}  {m['dec']:13.2f}  {m['grey'] + m['carry'] + m['dec']:5.2f}"
            )
    keys(clip)
    return 0


def keys(clip, fps: float = 30.0, every: int = 3) -> None:
    """The key thread's cost: ``jump.matte.propagate``'s heavy engine on the clip's frames."""
    from jump.matte.engine import MatteEngine
    from jump.matte.propagate import key_settings
    from jump.matte.settings import MatteSettings

    period = 1e3 / fps
    print(f"key (RVM at its input size, 1 thread): median ms over {len(clip) - 5} keys")
    print("inner  wall   cpu   late (frames at 30 fps)  key cores (every 3rd)")
    for inner in (256, 320):
        engine = MatteEngine(key_settings(MatteSettings(model="rvm", rvm_inner=inner)))
        h, w = clip[0][0].shape[:2]
        size = engine.work_size(w, h)
        work = [cv2.cvtColor(cv2.resize(f, size, interpolation=cv2.INTER_AREA),
                             cv2.COLOR_BGR2BGRA) for f, _ in clip]  # fmt: skip
        wall, cpu = [], []
        for i, frame in enumerate(work):
            t0, c0 = time.perf_counter(), time.thread_time()
            engine.process_detailed(frame, "bgra", want_raw=False)
            if i >= 5:  # the first runs warm the recurrent state up
                wall.append((time.perf_counter() - t0) * 1e3)
                cpu.append((time.thread_time() - c0) * 1e3)
        mw, mc = float(np.median(wall)), float(np.median(cpu))
        late = max(1, int(np.ceil(mw / period)))  # polled on the first frame after it lands
        print(
            f"{inner:5d}  {mw:5.1f}  {mc:5.1f}  {late:4d}  {mc / (max(every, late) * period):13.2f}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
