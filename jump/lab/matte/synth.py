"""Ground-truth matting data built in code: cut-outs composited over real photos.

``I = αF + (1−α)B`` makes a picture whose true alpha is exactly the cut-out's alpha
(placed, scaled) — the standard way matting benchmarks are made. Brightness levels model
a dim room (the whole scene darker, plus sensor noise); still stretches of the moving clip
carry fresh sensor noise every frame, as a webcam does, so flicker can be measured.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from jump.lab.paths import data_dir


def foreground_paths(root: Path | None = None) -> list[Path]:
    folder = (root / "data" if root else data_dir()) / "matte" / "foregrounds"
    return sorted(p for p in folder.glob("*.png") if not p.name.endswith(".source.png"))


# Backgrounds that cannot serve as ground truth, and why.
EXCLUDED_BACKGROUNDS = {
    "car-1": "shows a pedestrian, whom a composite's truth would call background",
}


def background_paths(root: Path | None = None) -> list[Path]:
    folder = (root / "data" if root else data_dir()) / "matte" / "backgrounds"
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in (".jpg", ".jpeg", ".png") and p.stem not in EXCLUDED_BACKGROUNDS
    )


def load_rgba(path: Path) -> np.ndarray:
    """A cut-out as BGRA uint8."""
    img = cv2.imread(os.fspath(path), cv2.IMREAD_UNCHANGED)
    if img is None or img.ndim != 3 or img.shape[2] != 4:
        raise ValueError(f"{path} is not an RGBA picture")
    return img


def load_bgr(path: Path) -> np.ndarray:
    img = cv2.imread(os.fspath(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"{path} is not a picture")
    return img


def cover(bg: np.ndarray, w: int, h: int) -> np.ndarray:
    """Background scaled and centre-cropped to fill w×h (float32 0–1)."""
    bh, bw = bg.shape[:2]
    s = max(w / bw, h / bh)
    sw, sh = max(w, round(bw * s)), max(h, round(bh * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    big = cv2.resize(bg, (sw, sh), interpolation=interp)
    x, y = (sw - w) // 2, (sh - h) // 2
    return big[y : y + h, x : x + w].astype(np.float32) * (1.0 / 255.0)


def place(
    fg: np.ndarray, w: int, h: int, height_frac: float, cx: float, bottom: float
) -> tuple[np.ndarray, np.ndarray]:
    """Cut-out scaled to ``height_frac`` of the frame height, centred at x = ``cx``·w, its
    bottom at ``bottom``·h. Returns (colour float32 0–1 HxWx3, alpha float32 HxW)."""
    fh, fw = fg.shape[:2]
    s = height_frac * h / fh
    sw, sh = max(1, round(fw * s)), max(1, round(fh * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    # resize premultiplied colour so transparent pixels do not bleed into the edge
    f = fg.astype(np.float32) * (1.0 / 255.0)
    a = f[..., 3:4]
    pre = np.concatenate([f[..., :3] * a, a], axis=2)
    pre = cv2.resize(pre, (sw, sh), interpolation=interp)
    colour = np.zeros((h, w, 3), np.float32)
    alpha = np.zeros((h, w), np.float32)
    x0 = round(cx * w - sw / 2)
    y0 = round(bottom * h - sh)
    xs, ys = max(0, x0), max(0, y0)
    xe, ye = min(w, x0 + sw), min(h, y0 + sh)
    if xe > xs and ye > ys:
        colour[ys:ye, xs:xe] = pre[ys - y0 : ye - y0, xs - x0 : xe - x0, :3]
        alpha[ys:ye, xs:xe] = pre[ys - y0 : ye - y0, xs - x0 : xe - x0, 3]
    return colour, np.clip(alpha, 0.0, 1.0)


def compose(
    fg_pre: np.ndarray,
    alpha: np.ndarray,
    bg: np.ndarray,
    brightness: float = 1.0,
    noise: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """BGR uint8 picture ``brightness·(F·α + (1−α)·B) + noise`` (F premultiplied)."""
    img = fg_pre + (1.0 - alpha[..., None]) * bg
    img *= 255.0 * brightness
    if noise > 0:
        rng = rng or np.random.default_rng(0)
        img += rng.normal(0.0, noise, img.shape).astype(np.float32)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


@dataclass
class Sample:
    name: str
    frame: np.ndarray  # BGR uint8
    alpha: np.ndarray  # float32 0–1, the truth


# (height fraction, centre x, bottom) — webcam framings: head-and-shoulders, off-centre,
# small and far, cut by the frame edge.
PLACEMENTS = [(0.95, 0.5, 1.0), (0.8, 0.33, 1.0), (0.55, 0.7, 0.95), (1.1, 0.6, 1.15)]
BRIGHTNESS = {"normal": 1.0, "dim": 0.45, "dark": 0.18}


def still_set(
    size: tuple[int, int] = (1280, 720),
    quick: bool = False,
    root: Path | None = None,
    brightness: dict[str, float] | None = None,
) -> Iterator[Sample]:
    """Composites of every cut-out over the backgrounds, placements and brightness levels.

    Deterministic: the combination of background and placement rotates with the cut-out,
    so the set is varied without being a full cross product. ``quick`` keeps 6 subjects
    and two brightness levels (normal and dark) unless ``brightness`` names them.
    """
    w, h = size
    fgs = foreground_paths(root)
    bgs = [load_bgr(p) for p in background_paths(root)]
    levels = brightness or BRIGHTNESS
    if quick:
        fgs = fgs[:6]
        if brightness is None:  # levels asked for by name are kept (device_quality's dim)
            levels = {k: v for k, v in levels.items() if k in ("normal", "dark")}
    for i, fg_path in enumerate(fgs):
        fg = load_rgba(fg_path)
        for j in range(2 if quick else 3):
            bi = (i + j) % len(bgs)
            pi = (i + 2 * j) % len(PLACEMENTS)
            colour, alpha = place(fg, w, h, *PLACEMENTS[pi])
            bg = cover(bgs[bi], w, h)
            for level, gain in levels.items():
                rng = np.random.default_rng(1000 * i + 10 * j + len(level))
                noise = 2.0 if gain >= 0.99 else 3.0
                frame = compose(colour, alpha, bg, gain, noise, rng)
                yield Sample(f"{fg_path.stem}/bg{bi}/p{pi}/{level}", frame, alpha)


@dataclass
class ClipFrame:
    index: int
    frame: np.ndarray  # BGR uint8
    alpha: np.ndarray  # float32 truth
    truth_still: bool  # True when the truth equals the previous frame's


def clip_path(t: int) -> tuple[float, float, float]:
    """(height fraction, centre x, bottom) of the subject at frame t of 90.

    0–29 still, 30–54 walks right, 55–69 still, 70–84 leans in (scales up), 85–89 still.
    """
    if t < 30:
        return 0.85, 0.4, 1.0
    if t < 55:
        u = (t - 29) / 25
        return 0.85, 0.4 + 0.25 * u, 1.0
    if t < 70:
        return 0.85, 0.65, 1.0
    if t < 85:
        u = (t - 69) / 15
        return 0.85 + 0.25 * u, 0.65 - 0.1 * u, 1.0 + 0.1 * u
    return 1.1, 0.55, 1.1


def moving_clip(
    fg: np.ndarray, bg: np.ndarray, size: tuple[int, int], frames: int = 90, seed: int = 7
) -> Iterator[ClipFrame]:
    """A subject translating, then scaling, over a background, with still stretches."""
    w, h = size
    background = cover(bg, w, h)
    rng = np.random.default_rng(seed)
    last_pose = None
    colour = alpha = None
    for t in range(frames):
        pose = clip_path(t)
        if pose != last_pose:
            colour, alpha = place(fg, w, h, *pose)
        frame = compose(colour, alpha, background, 1.0, 2.0, rng)  # type: ignore[arg-type]
        yield ClipFrame(t, frame, alpha, pose == last_pose)  # type: ignore[arg-type]
        last_pose = pose
