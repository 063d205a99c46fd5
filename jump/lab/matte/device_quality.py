"""`python -m jump.lab.matte.device_quality`: the device graph's masks against the numpy
engine's and the truth, per model and RVM inner size, on the evaluation stills.

Stills from ``synth.still_set`` (every cut-out of the shared set over real photos, normal
and dim light), each on a fresh state (RVM: its warm-up passes). The graph runs on the
provider asked for (``--provider``; the CPU gives the same masks as a GPU within float
rounding). Prints one markdown row per (model, inner, path).
"""

from __future__ import annotations

import argparse

import numpy as np

from jump.lab.matte import metrics, synth
from jump.matte.device_engine import DeviceMatteEngine
from jump.matte.engine import MatteEngine
from jump.matte.settings import MatteSettings


def score(engine, samples: list[synth.Sample]) -> tuple[float, float, float]:
    """(mean IoU, mean MAD, dim-light IoU) over ``samples``."""
    ious, mads, dim = [], [], []
    for s in samples:
        engine.reset()
        alpha = engine.process_detailed(s.frame, "bgr", want_raw=False).alpha
        ious.append(metrics.iou(alpha, s.alpha))
        mads.append(metrics.mad(alpha, s.alpha))
        if s.name.endswith("/dim"):
            dim.append(ious[-1])
    return float(np.mean(ious)), float(np.mean(mads)), float(np.mean(dim)) if dim else float("nan")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--provider", default="cpu")
    p.add_argument("--inner", default="448,576,768", help="RVM inner sizes")
    p.add_argument("--engine-inner", default="448", help="inner sizes also run on the numpy engine")
    p.add_argument("--guard", type=int, default=0, help="also each inner size with this guard")
    p.add_argument("--mediapipe", action="store_true", help="also MediaPipe, both paths")
    p.add_argument("--full", action="store_true", help="every still, not the quick set")
    a = p.parse_args(argv)
    levels = {"normal": synth.BRIGHTNESS["normal"], "dim": synth.BRIGHTNESS["dim"]}
    samples = list(synth.still_set((1280, 720), quick=not a.full, brightness=levels))
    print(f"{len(samples)} stills 1280×720 (normal and dim light), provider {a.provider}\n")
    print("| model | inner | path | IoU ↑ | MAD×10³ ↓ | IoU dim ↑ |\n|---|---|---|---|---|---|")
    runs = []
    engine_inner = {int(i) for i in a.engine_inner.split(",") if i}
    for inner in (int(i) for i in a.inner.split(",") if i):
        paths = ("engine", "device") if inner in engine_inner else ("device",)
        paths += (f"device, {a.guard} guard",) if a.guard and a.guard != inner else ()
        runs += [("rvm", inner, path) for path in paths]
    if a.mediapipe:
        runs += [("mediapipe", 0, "engine"), ("mediapipe", 0, "device")]
    for model, inner, path in runs:
        s = MatteSettings(model=model, provider=a.provider, rvm_inner=inner, low_light="off")
        if path.endswith("guard"):  # jump.matte.guard: RVM at a second inner size, fused
            s = s.with_(rvm_guard=a.guard)
        engine = MatteEngine(s) if path == "engine" else DeviceMatteEngine(s)
        iou, mad, dim = score(engine, samples)
        print(f"| {model} | {inner or '–'} | {path} | {iou:.4f} | {mad * 1e3:.2f} | {dim:.4f} |", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
