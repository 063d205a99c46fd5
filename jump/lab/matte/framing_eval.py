"""Auto-framing measured: small/far placements, MediaPipe with and without the crop.

Each placement is matted for a few frames of the same still (fresh sensor noise each
frame), so the framer can lock on the previous mask; the last frame is scored. "locked"
seeds the crop from the true alpha: what framing gives once it has found the subject,
i.e. the ceiling of the tracking half alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jump.lab.matte import metrics, synth
from jump.matte import framing
from jump.matte.engine import MatteEngine
from jump.matte.settings import MatteSettings

# (height fraction, centre x, bottom): far (0.35), full body (0.5), knees up (0.65)
PLACEMENTS = [
    (0.35, 0.5, 0.95),
    (0.35, 0.3, 0.9),
    (0.5, 0.5, 0.95),
    (0.5, 0.7, 1.0),
    (0.65, 0.4, 1.0),
]
FRAMES = 4


@dataclass
class Placed:
    name: str
    colour: np.ndarray  # premultiplied cut-out colour, float32 0–1
    background: np.ndarray  # float32 0–1
    alpha: np.ndarray  # the truth


def small_set(size: tuple[int, int] = (1280, 720)) -> list[Placed]:
    w, h = size
    fgs = synth.foreground_paths()
    bgs = [synth.load_bgr(p) for p in synth.background_paths()]
    out = []
    for i, fg_path in enumerate(fgs):
        fg = synth.load_rgba(fg_path)
        for j, place in enumerate(PLACEMENTS):
            colour, alpha = synth.place(fg, w, h, *place)
            bg = synth.cover(bgs[(i + j) % len(bgs)], w, h)
            out.append(Placed(f"{fg_path.stem}@{place[0]}", colour, bg, alpha))
    return out


def _score(engine: MatteEngine, sample: Placed, seed_truth: bool) -> tuple[float, float]:
    colour, bg = sample.colour, sample.background
    rng = np.random.default_rng(0)
    engine.reset()
    if seed_truth:
        engine._framer.rect = framing.target_rect(framing.subject_box(sample.alpha), 1.0)
    for _ in range(FRAMES):
        alpha = engine.process(synth.compose(colour, sample.alpha, bg, 1.0, 2.0, rng), "bgr")
    return metrics.iou(alpha, sample.alpha), metrics.mad(alpha, sample.alpha)


def run(models_dir: str | None, threads: int, model: str = "mediapipe") -> None:
    samples = small_set()
    base = MatteSettings(model=model, threads=threads, auto_frame=False)
    rows = {
        "off": (MatteEngine(base, models_dir), False),
        "auto-framing": (MatteEngine(base.with_(auto_frame=True), models_dir), False),
        "auto-framing, locked (crop seeded from truth)": (
            MatteEngine(base.with_(auto_frame=True), models_dir),
            True,
        ),
    }
    print(f"{len(samples)} small/far composites (heights {sorted({p[0] for p in PLACEMENTS})}),"
          f" 1280×720, {model}, last of {FRAMES} frames\n")  # fmt: skip
    print("| height | mode | IoU | MAD×1000 |\n|---|---|---|---|")
    scores = {
        label: np.array([_score(engine, s, seed) for s in samples])
        for label, (engine, seed) in rows.items()
    }
    heights = np.array([float(s.name.rsplit("@", 1)[1]) for s in samples])
    for height in [*sorted({p[0] for p in PLACEMENTS}), "all"]:
        pick = np.ones(len(samples), bool) if height == "all" else heights == height
        for label, table in scores.items():
            iou, mad = table[pick].mean(axis=0)
            print(f"| {height} | {label} | {iou:.3f} | {mad * 1000:.1f} |", flush=True)
