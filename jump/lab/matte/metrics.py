"""Matte quality metrics against a known true alpha (both float 0–1 or uint8).

- IoU of the masks at 0.5;
- MAD: mean |α̂ − α| over the whole frame (×1000 in reports, as the RVM paper);
- edge MAD and gradient error: the same near the true boundary (a band of ±``band`` px
  around every pixel where the truth is neither 0 nor 1 or changes), where halos, hair and
  fingers live and where whole-frame averages hide everything;
- flicker: mean |α̂_t − α̂_{t−1}| over frames whose truth did not change.
"""

from __future__ import annotations

import cv2
import numpy as np


def as_float(alpha: np.ndarray) -> np.ndarray:
    a = np.asarray(alpha)
    return a.astype(np.float32) * (1.0 / 255.0) if a.dtype == np.uint8 else a.astype(np.float32)


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    p, t = as_float(pred) >= 0.5, as_float(truth) >= 0.5
    union = np.count_nonzero(p | t)
    return 1.0 if union == 0 else np.count_nonzero(p & t) / union


def mad(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(np.abs(as_float(pred) - as_float(truth))))


def boundary_band(truth: np.ndarray, band: int) -> np.ndarray:
    t = as_float(truth)
    hard = (t >= 0.5).astype(np.uint8)
    k = np.ones((3, 3), np.uint8)
    edge = (cv2.dilate(hard, k) != cv2.erode(hard, k)) | ((t > 0.02) & (t < 0.98))
    size = 2 * band + 1
    return cv2.dilate(edge.astype(np.uint8), np.ones((size, size), np.uint8)) > 0


def _grad(a: np.ndarray) -> np.ndarray:
    gx = cv2.Sobel(a, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(a, cv2.CV_32F, 0, 1, ksize=3)
    return np.sqrt(gx * gx + gy * gy)


def edge_errors(
    pred: np.ndarray, truth: np.ndarray, band: int | None = None
) -> tuple[float, float]:
    """(MAD, mean |∇α̂ − ∇α| of Sobel magnitudes) inside the boundary band.

    ``band`` defaults to 1 % of the frame height (7 px at 720p).
    """
    t = as_float(truth)
    p = as_float(pred)
    band = band or max(2, round(0.01 * t.shape[0]))
    sel = boundary_band(t, band)
    if not sel.any():
        return 0.0, 0.0
    err = float(np.mean(np.abs(p - t)[sel]))
    grad = float(np.mean(np.abs(_grad(p) - _grad(t))[sel]))
    return err, grad


def flicker(prev_pred: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(np.abs(as_float(pred) - as_float(prev_pred))))


def edge_colour_error(
    colour: np.ndarray, true_colour: np.ndarray, weight: np.ndarray, band: np.ndarray
) -> float:
    """Mean |F̂ − F| (0–1 units, over channels) in ``band``, weighted by ``weight``.

    The evaluation weights by min(true α, predicted α): how much of the pixel's colour a
    composite shows *and* the truth defines, so a pixel the matte drops (an alpha error,
    scored by MAD) does not count as a colour error.
    """
    w = np.where(band, weight, 0.0).astype(np.float64)
    total = w.sum()
    if total <= 0:
        return float("nan")
    diff = np.abs(colour.astype(np.float64) - true_colour.astype(np.float64)).mean(axis=2)
    return float((diff * w).sum() / total)
