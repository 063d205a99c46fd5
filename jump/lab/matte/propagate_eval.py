"""Offline quality of the propagation methods against the baselines, on the moving clips.

``python -m jump.lab.matte.propagate_eval [--clips DIR]``: for every clip built by
``jump.lab.matte.moving_clips``, scores (IoU, MAD, edge MAD, dtSSD) of

- MediaPipe on every frame, RVM (inner 256 and 320) on every frame, through Jump's engine;
- ``PropagatingEngine`` inline: RVM on every k-th frame, its result usable k frames later
  (what a key thread that needs the whole interval delivers), carried by flow ("flow")
  or by flow fused with MediaPipe where the flow fails ("fuse").

Deterministic (no clock): the live figures come from ``python -m jump matte --live``.
``--simulate-latency L`` scores instead what the viewer of the live mode sees when the
heavy model's result lands L frames after its frame (``jump.lab.matte.live_sim``: the
filter's hand-over, ``--delay-frames`` for "delay video").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from jump.lab.matte import live_sim, moving_clips
from jump.matte.engine import MatteEngine
from jump.matte.propagate import PropagatingEngine
from jump.matte.settings import MatteSettings

METHODS = {
    "mediapipe every frame": lambda: MatteEngine(MatteSettings(model="mediapipe")),
    "rvm 256 every frame": lambda: MatteEngine(MatteSettings(model="rvm", rvm_inner=256)),
    "rvm 320 every frame": lambda: MatteEngine(MatteSettings(model="rvm", rvm_inner=320)),
}
LATENCY: list[int | None] = [None]  # --simulate-latency (None: the key's own interval)
for _inner in (256, 320):
    for _k in (2, 3, 4):
        for _m in ("flow", "fuse"):
            METHODS[f"rvm {_inner} every {_k} + {_m}"] = lambda i=_inner, k=_k, m=_m: (
                PropagatingEngine(
                    MatteSettings(model="rvm", rvm_inner=i),
                    every=k,
                    method=m,
                    inline=True,
                    latency=LATENCY[0],
                )
            )


def run(matter, frames: list[np.ndarray]) -> list[np.ndarray]:
    return [matter.process_detailed(f, "bgr", want_raw=False).alpha for f in frames]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", type=Path, default=moving_clips.DEFAULT_OUT)
    ap.add_argument("--only", default="", help="comma list of substrings of method names")
    ap.add_argument(
        "--simulate-latency",
        type=int,
        default=None,
        metavar="FRAMES",
        help="score what the live viewer sees, the heavy model's result FRAMES frames late",
    )
    ap.add_argument(
        "--delay-frames", type=int, default=0, help='with --simulate-latency: "delay video"'
    )
    ap.add_argument(
        "--lead", type=int, default=None, help="the carry's lead (default: the worker's)"
    )
    ap.add_argument(
        "--frames-from",
        choices=sorted(live_sim.HANDOVER_FRAMES),
        default=live_sim.FRAMES_FROM,
        help="with --simulate-latency: the filter's hand-over, async (a webcam, the "
        "default: the frame of the tick) or staged (other sources: a GPU readback, a "
        "frame more)",
    )
    args = ap.parse_args(argv)
    LATENCY[0] = args.simulate_latency
    videos = sorted(args.clips.glob("*.mp4"))
    if not videos:
        print(f"no clips in {args.clips}: python -m jump.lab.matte.moving_clips first")
        return 2
    wanted = [w for w in args.only.split(",") if w]
    clips = [(v, moving_clips.read_video(v), *moving_clips.load_truth(v)) for v in videos]
    for name, make in METHODS.items():
        if wanted and not any(w in name for w in wanted):
            continue
        rows, later = [], []
        for video, frames, truth, cuts in clips:
            if args.simulate_latency is None:
                s = moving_clips.score(run(make(), frames), truth, cuts)
            else:
                drawn, alphas = live_sim.simulate(
                    make(), frames, args.delay_frames, args.frames_from, lead=args.lead
                )
                s = live_sim.score(drawn, alphas, truth, cuts)
                first = live_sim.HANDOVER_FRAMES[args.frames_from]
                later.append(live_sim.score(drawn, alphas, truth, cuts, first))
            rows.append(s)
            print(f"  {video.stem:14s} {name:28s} {moving_clips.format_scores(s)}", flush=True)
        mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        print(f"MEAN {name:28s} {moving_clips.format_scores(mean)}", flush=True)
        if later:  # without the ticks before the first mask (nothing drawn)
            mean = {k: float(np.mean([r[k] for r in later])) for k in later[0]}
            print(f"MEAN {name + ', from 1st mask':28s} {moving_clips.format_scores(mean)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
