"""Temporal state of a matte: motion-adaptive smoothing and still-frame gating.

Motion is measured at model resolution on the grey picture the model sees (the resize
has already averaged sensor noise down); the smoothing itself runs on the final alpha at
work resolution, after the soft threshold and the guided filter — both of which amplify
small jitter (the threshold's slope, and the guide's sensor noise passing through the
filter's ``a·I`` term), so smoothing earlier would leave that flicker in.
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
    """Per-pixel EMA of the alpha whose rate follows motion.

    Where the picture is still the alpha moves slowly (flicker from sensor noise and model
    jitter averages out); where the picture changed — or the alpha changed by more than
    jitter can explain (``jump``) — the new alpha is taken as is, so a moving hand leaves
    no ghost. ``strength`` 0 is off; 1 keeps 85 % of the old alpha on still pixels.
    """

    def __init__(self, strength: float, motion_level: float, jump: float = 0.5) -> None:
        self.strength = strength
        self.motion_level = motion_level
        self.jump = jump
        self.prev_alpha: np.ndarray | None = None
        self.prev_grey: np.ndarray | None = None

    def reset(self) -> None:
        self.prev_alpha = None
        self.prev_grey = None

    def __call__(self, alpha: np.ndarray, grey: np.ndarray) -> np.ndarray:
        """Smoothed ``alpha`` (float32, any size) given the model-resolution ``grey``."""
        prev_alpha, prev_grey = self.prev_alpha, self.prev_grey
        self.prev_grey = grey
        if (
            self.strength <= 0
            or prev_alpha is None
            or prev_grey is None
            or prev_alpha.shape != alpha.shape
            or prev_grey.shape != grey.shape
        ):
            self.prev_alpha = alpha
            return alpha
        motion = cv2.blur(cv2.absdiff(grey, prev_grey), (3, 3)).astype(np.float32)
        motion *= 1.0 / self.motion_level
        if motion.shape != alpha.shape:
            motion = cv2.resize(motion, alpha.shape[::-1], interpolation=cv2.INTER_LINEAR)
        delta = alpha - prev_alpha
        # a change larger than jitter is real even where the picture looks still
        rate = np.abs(delta)
        rate *= 1.0 / self.jump
        np.maximum(rate, motion, out=rate)
        np.clip(rate, 1.0 - 0.85 * self.strength, 1.0, out=rate)
        rate *= delta
        rate += prev_alpha
        self.prev_alpha = rate
        return rate


class StillFrameDetector:
    """Motion gating: decides whether a frame is close enough to the last inferred one to
    reuse its mask (no model run)."""

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
