"""Moving webcam clips with the exact alpha of every frame, built from the shipped portraits.

Each clip is 6 s at 30 fps, 1280×720: a person sways (0–1.5 s, up to 5 px a frame),
leans in and back (1.5–3 s), turns (7° and back with a slight shrink, 3–4 s), moves fast
across the frame once (¼ of the width in 6 frames, 4–4.4 s), then the scene cuts to another person in
another room who sways gently (4.4–6 s). Every frame carries fresh sensor noise, as a webcam
does. ``I = αF + (1−α)B`` with F, α warped together (premultiplied), so the truth is exact.

``build`` writes ``NAME.mp4`` (H.264, near-lossless) and ``NAME.alpha.npz`` (uint8 alpha
stack and the cut frames) per clip; ``score`` compares any alpha sequence with the truth.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from jump.lab.matte import metrics, synth
from jump.lab.paths import REPO

FPS = 30
FRAMES = 180
CUT = 132  # first frame of the second scene
SIZE = (1280, 720)
DATA = REPO / "tests" / "data" / "matte"
DEFAULT_OUT = REPO / "out" / "moving_clips"

# (first subject, first background, second subject, second background) per clip
CLIPS = {
    "sway-p3m": ("p3m-bac3c1ff", "plants-1", "person-1", "animal-1"),
    "sway-person": ("person-2", "car-2", "p3m-d684dae3", "plants-1"),
    "sway-portrait": ("p3m-bd6af989", "animal-1", "p3m-bc5cfad1", "car-2"),
}


@dataclass(frozen=True)
class Pose:
    height: float  # subject height as a fraction of the frame height
    cx: float  # bottom centre x, fraction of the width
    bottom: float  # bottom y, fraction of the height
    angle: float = 0.0  # degrees, counter-clockwise about the bottom centre


def pose(t: int) -> Pose:
    """The subject's pose at frame ``t`` (see the module docstring for the script)."""
    if t < 45:  # sway: ±4 % of the width, a 2 s period (up to 5 px a frame at 720p)
        return Pose(0.85, 0.45 + 0.04 * math.sin(2 * math.pi * t / 60), 1.0)
    if t < 90:  # lean in and back: 25 % larger at the deepest
        u = math.sin(math.pi * (t - 45) / 45)
        return Pose(0.85 + 0.22 * u, 0.45 - 0.03 * u, 1.0 + 0.08 * u)
    if t < 120:  # turn: up to 7° and a slight shrink, there and back in 1 s
        u = math.sin(math.pi * (t - 90) / 30)
        return Pose(0.85 - 0.03 * u, 0.45 + 0.01 * u, 1.0, 7.0 * u)
    if t < CUT:  # fast: a quarter of the width in 6 frames, then still
        u = min(1.0, max(0.0, (t - 120) / 6))
        return Pose(0.85, 0.45 + 0.25 * u, 1.0)
    # second scene: another person, swaying gently
    return Pose(0.9, 0.55 + 0.03 * math.sin(2 * math.pi * (t - CUT) / 60), 1.05)


def place(fg: np.ndarray, size: tuple[int, int], p: Pose) -> tuple[np.ndarray, np.ndarray]:
    """(premultiplied colour float32 HxWx3, alpha float32 HxW) of the cut-out at pose ``p``."""
    w, h = size
    fh, fw = fg.shape[:2]
    s = p.height * h / fh
    f = fg.astype(np.float32) * (1.0 / 255.0)
    pre = np.concatenate([f[..., :3] * f[..., 3:4], f[..., 3:4]], axis=2)
    if s < 1:  # shrink with area averaging first, so the warp does not alias
        pre = cv2.resize(pre, (max(1, round(fw * s)), max(1, round(fh * s))), cv2.INTER_AREA)
        fh, fw = pre.shape[:2]
        s = p.height * h / fh
    # rotate and scale about the cut-out's bottom centre, then move that to (cx, bottom)
    m = cv2.getRotationMatrix2D((fw / 2, fh), p.angle, s)
    m[0, 2] += p.cx * w - fw / 2
    m[1, 2] += p.bottom * h - fh
    out = cv2.warpAffine(pre, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0, 0))
    alpha = np.clip(out[..., 3], 0.0, 1.0)
    return out[..., :3], alpha


def frames(name: str, root: Path = DATA) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(BGR uint8 frame, alpha float32) for every frame of clip ``name``."""
    fg1, bg1, fg2, bg2 = CLIPS[name]
    scenes = []
    for fg, bg in ((fg1, bg1), (fg2, bg2)):
        cut_out = synth.load_rgba(root / "foregrounds" / f"{fg}.png")
        bg_path = next((root / "backgrounds").glob(f"{bg}.*"))
        scenes.append((cut_out, synth.cover(synth.load_bgr(bg_path), *SIZE)))
    rng = np.random.default_rng(sum(map(ord, name)))
    for t in range(FRAMES):
        cut_out, background = scenes[0 if t < CUT else 1]
        colour, alpha = place(cut_out, SIZE, pose(t))
        yield synth.compose(colour, alpha, background, 1.0, 2.0, rng), alpha


def build(name: str, out_dir: Path) -> Path:
    """Write ``out_dir/NAME.mp4`` and ``NAME.alpha.npz``; returns the video's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    video = out_dir / f"{name}.mp4"
    alphas = []
    w, h = SIZE
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg:
        proc = subprocess.Popen(
            [ffmpeg, "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
             "-s", f"{w}x{h}", "-r", str(FPS), "-i", "-", "-c:v", "libx264", "-preset", "fast",
             "-crf", "12", "-pix_fmt", "yuv420p", os.fspath(video)],
            stdin=subprocess.PIPE,
        )  # fmt: skip
        write = proc.stdin.write  # type: ignore[union-attr]
    else:
        writer = cv2.VideoWriter(os.fspath(video), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)

        def write(data: bytes) -> None:
            writer.write(np.frombuffer(data, np.uint8).reshape(h, w, 3))

    for frame, alpha in frames(name):
        write(frame.tobytes())
        alphas.append(np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8))
    if ffmpeg:
        proc.stdin.close()  # type: ignore[union-attr]
        proc.wait()
    else:
        writer.release()
    np.savez_compressed(truth_path(video), alpha=np.stack(alphas), cuts=np.array([CUT]))
    return video


def truth_path(video: Path) -> Path:
    return video.with_name(video.stem + ".alpha.npz")


def load_truth(video: Path) -> tuple[np.ndarray, list[int]]:
    """(uint8 alpha stack N×H×W, frames that start a new scene) of a built clip."""
    data = np.load(truth_path(video))
    return data["alpha"], [int(c) for c in data["cuts"]]


def read_video(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(os.fspath(path))
    out = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        out.append(frame)
    cap.release()
    return out


def score(preds: list[np.ndarray], truth: np.ndarray, cuts: list[int]) -> dict[str, float]:
    """Mean IoU, MAD, edge MAD and dtSSD of an alpha sequence against the truth.

    dtSSD (the video-matting temporal error): per frame, the RMS over pixels of
    (α̂ₜ − α̂ₜ₋₁) − (αₜ − αₜ₋₁); frames that open a scene have no predecessor and are left
    out of it. Predictions of another size are resized (bilinear) to the truth's.
    """
    if len(preds) != len(truth):
        raise ValueError(f"{len(preds)} predictions for {len(truth)} frames")
    iou, mad, edge, dt = [], [], [], []
    prev_p = prev_t = None
    for i, (p, t) in enumerate(zip(preds, truth, strict=True)):
        p = metrics.as_float(p)
        t = metrics.as_float(t)
        if p.shape != t.shape:
            p = cv2.resize(p, t.shape[::-1], interpolation=cv2.INTER_LINEAR)
        iou.append(metrics.iou(p, t))
        mad.append(metrics.mad(p, t))
        edge.append(metrics.edge_errors(p, t)[0])
        if prev_p is not None and i not in cuts:
            d = (p - prev_p) - (t - prev_t)
            dt.append(float(np.sqrt(np.mean(d * d))))
        prev_p, prev_t = p, t
    return {
        "iou": float(np.mean(iou)),
        "mad": float(np.mean(mad)),
        "edge_mad": float(np.mean(edge)),
        "dtssd": float(np.mean(dt)) if dt else float("nan"),
    }


def format_scores(s: dict[str, float]) -> str:
    return (
        f"IoU {s['iou']:.3f}  MAD {1e3 * s['mad']:.1f}e-3  edge MAD {1e3 * s['edge_mad']:.0f}e-3  "
        f"dtSSD {1e3 * s['dtssd']:.1f}e-3"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the clips")
    ap.add_argument("--clips", default=",".join(CLIPS), help="comma list of clip names")
    args = ap.parse_args(argv)
    for name in args.clips.split(","):
        print(build(name, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
