"""Composites where the model errs, and the clean plate's effect on them.

Two kinds of mistakes users report, built with exact truth from the matte data:
- **poster**: the room has a picture of a person on the wall (a poster, a framed photo,
  a TV); the model cuts it out as a second person. Truth: the poster is background.
- **held object**: the person holds something that does not look like a person (a box,
  a product) beside the body; the model drops it. Truth: the object is foreground.

The plate is the median of ``PLATE_FRAMES`` noisy frames of the empty room (the same
room, fresh sensor noise each frame, as a webcam gives); the live frame has its own noise.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from jump.lab.matte import metrics, synth
from jump.matte.clean_plate import CleanPlate
from jump.matte.engine import MatteEngine

PLATE_FRAMES = 15
NOISE = 2.0
SUBJECTS = [("person-1", (0.95, 0.62, 1.0)), ("person-2", (0.9, 0.6, 1.0)),
            ("p3m-bac3c1ff", (1.0, 0.62, 1.0)), ("p3m-bd6af989", (1.0, 0.62, 1.0))]  # fmt: skip
POSTER_PEOPLE = ["p3m-d684dae3", "p3m-bc5cfad1"]


def poster_room(bg: np.ndarray, poster_fg: np.ndarray, w: int, h: int) -> np.ndarray:
    """The room (float32 0–1 BGR) with a framed portrait on the left wall."""
    room = synth.cover(bg, w, h).copy()
    pw, ph = int(0.26 * w), int(0.62 * h)
    x0, y0 = int(0.05 * w), int(0.12 * h)
    colour, alpha = synth.place(poster_fg, pw, ph, 0.95, 0.5, 1.0)
    backdrop = np.full((ph, pw, 3), (0.78, 0.80, 0.83), np.float32)  # a light studio grey
    picture = colour + (1.0 - alpha[..., None]) * backdrop
    border = max(3, pw // 40)
    room[y0 - border : y0 + ph + border, x0 - border : x0 + pw + border] = (0.12, 0.1, 0.08)
    room[y0 : y0 + ph, x0 : x0 + pw] = picture
    return room


def held_object(
    colour: np.ndarray, alpha: np.ndarray, texture: np.ndarray, w: int, h: int
) -> tuple[np.ndarray, np.ndarray]:
    """A box held in front of the person's left side, half of it beside the body."""
    _, xs = np.nonzero(alpha > 0.5)
    left = int(np.percentile(xs, 3)) if xs.size else w // 3
    bw, bh = int(0.16 * w), int(0.26 * h)
    x0 = max(0, left - bw // 2)
    y0 = int(0.6 * h)
    box = cv2.resize(texture, (bw, bh), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    colour, alpha = colour.copy(), alpha.copy()
    y1, x1 = min(h, y0 + bh), min(w, x0 + bw)
    colour[y0:y1, x0:x1] = box[: y1 - y0, : x1 - x0]  # premultiplied, alpha 1
    alpha[y0:y1, x0:x1] = 1.0
    return colour, alpha


def cases(
    size: tuple[int, int] = (1280, 720),
) -> Iterator[tuple[str, np.ndarray, list, np.ndarray]]:
    """(name, live BGR frame, plate frames, true alpha) for each composite."""
    w, h = size
    fgs = {p.stem: p for p in synth.foreground_paths()}
    bgs = synth.background_paths()
    texture = synth.load_bgr(next(p for p in bgs if p.stem == "animal-1"))
    for i, (name, placement) in enumerate(SUBJECTS):
        subject = synth.load_rgba(fgs[name])
        colour, alpha = synth.place(subject, w, h, *placement)
        for j, bg_path in enumerate(p for p in bgs if p.stem != "animal-1"):
            bg = synth.load_bgr(bg_path)
            rng = np.random.default_rng(100 * i + j)
            poster = synth.load_rgba(fgs[POSTER_PEOPLE[(i + j) % len(POSTER_PEOPLE)]])
            for kind in ("poster", "held object"):
                if kind == "poster":
                    room = poster_room(bg, poster, w, h)
                    c, a = colour, alpha
                else:
                    room = synth.cover(bg, w, h)
                    c, a = held_object(colour, alpha, texture, w, h)
                zero = np.zeros((h, w), np.float32)
                plate = [synth.compose(zero[..., None] * room, zero, room, 1.0, NOISE, rng)
                         for _ in range(PLATE_FRAMES)]  # fmt: skip
                live = synth.compose(c, a, room, 1.0, NOISE, rng)
                yield f"{kind}: {name} / {bg_path.stem}", live, plate, a


def evaluate(matter: MatteEngine, size: tuple[int, int] = (1280, 720)) -> list[tuple[str, list]]:
    """Per case: [IoU, MAD] without the plate, then with it."""
    base = matter.settings
    rows = []
    for name, live, plate_frames, truth in cases(size):
        scores = []
        for use in (False, True):
            matter.update(base.with_(use_plate=use))
            matter.reset()
            ww, wh = matter.work_size(*size)
            work_frames = [
                cv2.resize(f, (ww, wh), interpolation=cv2.INTER_AREA) for f in plate_frames
            ]
            matter.overrides.set_plate(CleanPlate.from_frames(work_frames))
            alpha = matter.process(live, "bgr")
            scores += [metrics.iou(alpha, truth), metrics.mad(alpha, truth)]
        rows.append((name, scores))
    matter.update(base)
    matter.overrides.set_plate(None)
    return rows
