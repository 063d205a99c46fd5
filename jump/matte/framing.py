"""Auto-framing for the light segmentation models: crop what the model sees to the subject.

A 256×144 model sees a full-body or distant person a few dozen pixels tall and misses
most of them. The previous mask's bounding box, grown by a margin and widened to the
model's aspect (no distortion), is cropped out of the work picture instead, so the
subject fills the model input; the probability is pasted back (zeros outside the crop).

The crop grows at once (a subject walking out of it must not be cut) and shrinks slowly
(no jitter from a mask that breathes), and goes back to the whole frame when the mask is
lost or the subject already fills most of the frame. Rectangles are fractions of the
frame, so they survive a change of work size. Measured in docs/benchmarks.md.
"""

from __future__ import annotations

import cv2
import numpy as np

# margin around the subject's box, in subject heights on each side: room for a raised hand
MARGIN = 0.25
# never zoom in further than this fraction of the frame height: beyond it the model sees
# upscaled blur and the crop follows the mask's own noise
MIN_HEIGHT = 0.3
# a crop wider than this (in frame area) gains too little to be worth the paste-back
FULL_AREA = 0.6
# per-frame weight of a shrinking target (growth is immediate)
SHRINK_RATE = 0.15
# probability above which a pixel counts as the subject for the box
LEVEL = 0.5

FULL = (0.0, 0.0, 1.0, 1.0)


def subject_box(prob: np.ndarray, level: float = LEVEL) -> tuple[float, float, float, float] | None:
    """(x0, y0, x1, y1) as fractions of the frame of pixels above ``level``, or None."""
    h, w = prob.shape[:2]
    mask = (prob > level).astype(np.uint8)
    # the largest blob: a stray false positive elsewhere must not stretch the crop
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n < 2:
        return None
    x, y, bw, bh, _ = stats[1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))]
    return x / w, y / h, (x + bw) / w, (y + bh) / h


def target_rect(
    box: tuple[float, float, float, float] | None, aspect: float
) -> tuple[float, float, float, float]:
    """The crop (fractions) for a subject box: margin, aspect ``aspect`` = crop w/h in frame
    fractions (the model input's aspect over the frame's), clamped inside the frame."""
    if box is None:
        return FULL
    x0, y0, x1, y1 = box
    bh, bw = y1 - y0, x1 - x0
    pad = MARGIN * bh
    h = max(MIN_HEIGHT, bh + 2 * pad)
    w = max(bw + 2 * pad / aspect, h * aspect)
    h = max(h, w / aspect)
    if h >= 1.0 or w >= 1.0 or w * h > FULL_AREA:
        return FULL
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    nx0 = min(max(0.0, cx - w / 2), 1.0 - w)
    ny0 = min(max(0.0, cy - h / 2), 1.0 - h)
    return nx0, ny0, nx0 + w, ny0 + h


class AutoFramer:
    """The smoothed crop of one video stream. ``rect`` is used for the next frame."""

    def __init__(self) -> None:
        self.rect = FULL

    def reset(self) -> None:
        self.rect = FULL

    def pixels(self, w: int, h: int) -> tuple[int, int, int, int]:
        """The current crop in pixels of a w×h picture: (x0, y0, x1, y1), at least 1 px."""
        x0, y0, x1, y1 = self.rect
        px0, py0 = int(x0 * w), int(y0 * h)
        px1, py1 = max(px0 + 1, round(x1 * w)), max(py0 + 1, round(y1 * h))
        return px0, py0, min(w, px1), min(h, py1)

    def update(self, prob: np.ndarray, aspect: float) -> None:
        """Follow the full-frame probability of the frame just processed."""
        target = target_rect(subject_box(prob), aspect)
        if target == FULL:
            self.rect = FULL  # lost or filling the frame: release at once
            return
        cur = self.rect
        if cur == FULL:
            self.rect = target
            return
        # each edge: outward at once, inward slowly
        x0 = min(target[0], cur[0] + SHRINK_RATE * (target[0] - cur[0]))
        y0 = min(target[1], cur[1] + SHRINK_RATE * (target[1] - cur[1]))
        x1 = max(target[2], cur[2] + SHRINK_RATE * (target[2] - cur[2]))
        y1 = max(target[3], cur[3] + SHRINK_RATE * (target[3] - cur[3]))
        # keep the model's aspect: widen the narrower side about its centre
        w, h = x1 - x0, y1 - y0
        if w < h * aspect:
            cx, w = (x0 + x1) / 2, h * aspect
            x0, x1 = cx - w / 2, cx + w / 2
        elif h < w / aspect:
            cy, h = (y0 + y1) / 2, w / aspect
            y0, y1 = cy - h / 2, cy + h / 2
        if w >= 1.0 or h >= 1.0 or w * h > FULL_AREA:
            self.rect = FULL
            return
        x0 = min(max(0.0, x0), 1.0 - w)
        y0 = min(max(0.0, y0), 1.0 - h)
        self.rect = (x0, y0, x0 + w, y0 + h)
