"""Mask post-processing: soft threshold, blob/hole clean-up, guided-filter edges, outward feather.

All of it is vectorised OpenCV on float32 images; these same steps are what the GPU shader
path would do, so each is a small pure function.
"""

from __future__ import annotations

import cv2
import numpy as np


def soft_threshold(prob: np.ndarray, threshold: float, width: float) -> np.ndarray:
    """Smoothstep from ``threshold - width/2`` to ``threshold + width/2`` (a hard step at 0)."""
    if width <= 1e-3:
        return (prob >= threshold).astype(np.float32)
    lo = threshold - 0.5 * width
    x = np.clip((prob - lo) * (1.0 / width), 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def clean_blobs(prob: np.ndarray, threshold: float, min_blob: float, max_hole: float) -> np.ndarray:
    """Drop person blobs and fill enclosed holes smaller than the given fractions of the frame.

    Works on the model-resolution probability (a few thousand pixels), so connected
    components cost well under a millisecond. Kept blobs keep their soft values.
    """
    if min_blob <= 0 and max_hole <= 0:
        return prob
    area = prob.size
    person = (prob >= threshold).astype(np.uint8)
    out = prob
    if min_blob > 0:
        n, labels, stats, _ = cv2.connectedComponentsWithStats(person, connectivity=8)
        if n > 2:  # background + more than one blob
            small = stats[:, cv2.CC_STAT_AREA] < min_blob * area
            small[0] = False
            # never drop the largest blob: a tiny person far away is still the person
            small[1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))] = False
            if small.any():
                drop = small[labels]
                # the soft fringe around a dropped blob goes too
                drop = cv2.dilate(drop.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
                out = np.where(drop, 0.0, out).astype(np.float32)
                person[drop] = 0
    if max_hole > 0:
        bg = 1 - person
        n, labels, stats, _ = cv2.connectedComponentsWithStats(bg, connectivity=4)
        if n > 2:
            h, w = person.shape
            x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
            bw, bh = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
            touches_edge = (x == 0) | (y == 0) | (x + bw >= w) | (y + bh >= h)
            hole = (~touches_edge) & (stats[:, cv2.CC_STAT_AREA] < max_hole * area)
            hole[0] = False
            if hole.any():
                out = np.where(hole[labels] & (bg > 0), 1.0, out).astype(np.float32)
    return out


def box(img: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(img, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)


def guided_upsample(p_low: np.ndarray, guide: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Fast guided filter (He & Sun 2015): coefficients at low resolution, applied at high.

    ``p_low`` is the mask at model resolution, ``guide`` the grey picture (0–1) at work
    resolution. The local linear model ``q = a·I + b`` is fitted on the low-resolution
    guide, its coefficients are upsampled bilinearly, and applied to the full-resolution
    guide — so mask edges snap to picture edges (hair, fingers) at the cost of a handful
    of box filters on a few thousand pixels. ``radius`` is in low-resolution pixels.
    """
    lh, lw = p_low.shape
    gh, gw = guide.shape
    i_low = (
        cv2.resize(guide, (lw, lh), interpolation=cv2.INTER_AREA) if (gh, gw) != (lh, lw) else guide
    )
    r = max(1, int(radius))
    mean_i = box(i_low, r)
    mean_p = box(p_low, r)
    cov_ip = box(i_low * p_low, r) - mean_i * mean_p
    var_i = box(i_low * i_low, r) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    a = box(a, r)
    b = box(b, r)
    if (gh, gw) != (lh, lw):
        a = cv2.resize(a, (gw, gh), interpolation=cv2.INTER_LINEAR)
        b = cv2.resize(b, (gw, gh), interpolation=cv2.INTER_LINEAR)
    q = a * guide
    q += b
    return q


def feather_outward(alpha: np.ndarray, px: float) -> np.ndarray:
    """Grow a soft edge of about ``px`` pixels outside the body; the inside never thins.

    obs-backgroundremoval's feather blurs the mask, which eats into the person (its #606);
    taking the max with the original keeps every pixel at least as opaque as before.
    """
    if px < 0.5:
        return alpha
    k = 2 * round(px) + 1
    grown = cv2.GaussianBlur(alpha, (k, k), px / 2.0, borderType=cv2.BORDER_REPLICATE)
    # the blur halves alpha at the old edge; doubling and clipping moves the ramp outside
    grown = np.minimum(grown * 2.0, 1.0)
    return np.maximum(alpha, grown)
