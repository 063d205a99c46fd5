"""Temporal state of a matte: motion-adaptive smoothing and still-frame gating.

Both work at model resolution on the grey picture the model sees, where sensor noise is
already averaged down by the resize, so the per-frame cost is a few tiny array ops.
"""

from __future__ import annotations

import cv2
import numpy as np


def psnr_db(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two uint8 pictures, in dB (inf when identical)."""
    diff = a.astype(np.float32) - b.astype(np.float32)
    mse = float(np.mean(diff * diff))
    return float("inf") if mse <= 1e-12 else 10.0 * np.log10(255.0 * 255.0 / mse)


class MotionAdaptiveSmoother:
    """Per-pixel EMA of the person probability whose rate follows the picture's motion.

    Where the picture is still the mask moves slowly (flicker from sensor noise and
    model jitter averages out); where it changed the new mask is taken as is, so a moving
    hand leaves no ghost. ``strength`` 0 is off; 1 keeps 85 % of the old mask on still pixels.
    """

    def __init__(self, strength: float, motion_level: float) -> None:
        self.strength = strength
        self.motion_level = motion_level
        self.prev_prob: np.ndarray | None = None
        self.prev_grey: np.ndarray | None = None

    def reset(self) -> None:
        self.prev_prob = None
        self.prev_grey = None

    def __call__(self, prob: np.ndarray, grey: np.ndarray) -> np.ndarray:
        prev_prob, prev_grey = self.prev_prob, self.prev_grey
        self.prev_grey = grey
        if (
            self.strength <= 0
            or prev_prob is None
            or prev_grey is None
            or prev_prob.shape != prob.shape
            or prev_grey.shape != grey.shape
        ):
            self.prev_prob = prob
            return prob
        motion = cv2.absdiff(grey, prev_grey).astype(np.float32)
        motion = cv2.blur(motion, (3, 3))
        still_rate = 1.0 - 0.85 * self.strength
        rate = np.clip(motion * (1.0 / self.motion_level), still_rate, 1.0)
        out = prev_prob + rate * (prob - prev_prob)
        self.prev_prob = out
        return out


class StillGate:
    """Decides whether a frame is close enough to the last inferred one to reuse its mask."""

    def __init__(self, threshold_db: float, max_skip: int) -> None:
        self.threshold_db = threshold_db
        self.max_skip = max_skip
        self.last_grey: np.ndarray | None = None
        self.skipped = 0

    def reset(self) -> None:
        self.last_grey = None
        self.skipped = 0

    def still(self, grey: np.ndarray) -> bool:
        last = self.last_grey
        if (
            last is None
            or last.shape != grey.shape
            or self.skipped >= self.max_skip
            or psnr_db(grey, last) < self.threshold_db
        ):
            self.last_grey = grey
            self.skipped = 0
            return False
        self.skipped += 1
        return True
