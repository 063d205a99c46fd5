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


def _soft_keep(areas: np.ndarray, min_area: float) -> np.ndarray:
    """Per-component keep factor: 0 below half of ``min_area``, 1 above 1.5×, a ramp between.

    A hard cut toggles a blob whose area hovers around the limit on and off from frame to
    frame — visible flicker; the ramp turns that into a small, smoothable change.
    """
    return np.clip(areas.astype(np.float32) / max(min_area, 1e-6) - 0.5, 0.0, 1.0)


def clean_blobs(prob: np.ndarray, threshold: float, min_blob: float, max_hole: float) -> np.ndarray:
    """Fade out person blobs and fill enclosed holes smaller than the given frame fractions.

    The components are found on a half-resolution copy of the model-resolution
    probability (a 0.2 % blob is still ~18 pixels there) and the per-blob factors are
    brought back up bilinearly, so the common case — nothing to remove — costs two
    connected-component passes over ~9k pixels. The largest blob always stays (a small
    person far away is still the person); kept blobs keep their soft values.
    """
    if min_blob <= 0 and max_hole <= 0:
        return prob
    h, w = prob.shape
    small = cv2.resize(prob, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    area = small.size
    person = (small >= threshold).astype(np.uint8)
    scale = None  # multiplies prob (blob removal)
    lift = None  # pulls prob towards 1 (hole filling)
    if min_blob > 0:
        n, labels, stats, _ = cv2.connectedComponentsWithStats(person, connectivity=8)
        if n > 2:  # background + more than one blob
            keep = _soft_keep(stats[:, cv2.CC_STAT_AREA], min_blob * area)
            keep[0] = 1.0
            keep[1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))] = 1.0
            if (keep < 1.0).any():
                # the min filter carries a blob's factor onto its soft fringe too
                scale = cv2.erode(keep[labels], np.ones((3, 3), np.uint8))
    if max_hole > 0:
        n, labels, stats, _ = cv2.connectedComponentsWithStats(1 - person, connectivity=4)
        if n > 2:
            sh, sw = person.shape
            x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
            bw, bh = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
            inside = ~((x == 0) | (y == 0) | (x + bw >= sw) | (y + bh >= sh))
            fill = (1.0 - _soft_keep(stats[:, cv2.CC_STAT_AREA], max_hole * area)) * inside
            fill[0] = 0.0  # label 0 is the person itself
            if (fill > 0).any():
                lift = cv2.dilate(fill.astype(np.float32)[labels], np.ones((3, 3), np.uint8))
    out = prob
    if scale is not None:
        out = out * cv2.resize(scale, (w, h), interpolation=cv2.INTER_LINEAR)
    if lift is not None:
        out = out + cv2.resize(lift, (w, h), interpolation=cv2.INTER_LINEAR) * (1.0 - out)
    return out.astype(np.float32, copy=False)


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


def guided_upsample_colour(
    p_low: np.ndarray,
    guide: np.ndarray,
    radius: int,
    eps: float,
    subsample: int = 1,
    guide_low: np.ndarray | None = None,
) -> np.ndarray:
    """``guided_upsample`` with a colour guide: edges between regions of equal brightness
    but different colour (a grey shirt on a grey wall) still snap.

    ``guide`` is the work-resolution picture, uint8 HxWx3 (any channel order). The 3×3
    covariance solve runs on low-resolution float planes; at work resolution there is
    only the bilinear upsampling of the 4 coefficient planes and ``q = Σ aₖ·Iₖ + b``,
    done straight on the uint8 picture. ``guide_low`` (optional) is the same picture
    already downscaled — the model's input image — to save downscaling it again; it must
    have the guide's channel order.
    """
    if subsample > 1:  # solve on a coarser grid still (He & Sun's s); a, b are smooth
        lh, lw = max(1, p_low.shape[0] // subsample), max(1, p_low.shape[1] // subsample)
        p_low = cv2.resize(p_low, (lw, lh), interpolation=cv2.INTER_AREA)
        radius = max(1, round(radius / subsample))
    lh, lw = p_low.shape
    gh, gw = guide.shape[:2]
    same = (gh, gw) == (lh, lw)
    src = guide if guide_low is None else guide_low
    if src.shape[:2] == (lh, lw):
        i_low = src
    else:
        i_low = cv2.resize(src, (lw, lh), interpolation=cv2.INTER_AREA)
    r = max(1, int(radius))
    ch = [c.astype(np.float32) * (1.0 / 255.0) for c in cv2.split(i_low)]
    mean_p = box(p_low, r)
    mean = [box(c, r) for c in ch]
    cov_p = [box(c * p_low, r) - m * mean_p for c, m in zip(ch, mean, strict=True)]

    def cov(i: int, j: int) -> np.ndarray:
        return box(ch[i] * ch[j], r) - mean[i] * mean[j]

    s00, s01, s02 = cov(0, 0) + eps, cov(0, 1), cov(0, 2)
    s11, s12, s22 = cov(1, 1) + eps, cov(1, 2), cov(2, 2) + eps
    # inverse of the symmetric 3x3 by cofactors, every pixel at once
    c00 = s11 * s22 - s12 * s12
    c01 = s02 * s12 - s01 * s22
    c02 = s01 * s12 - s02 * s11
    c11 = s00 * s22 - s02 * s02
    c12 = s01 * s02 - s00 * s12
    c22 = s00 * s11 - s01 * s01
    inv_det = 1.0 / (s00 * c00 + s01 * c01 + s02 * c02)
    v0, v1, v2 = cov_p
    a0 = (c00 * v0 + c01 * v1 + c02 * v2) * inv_det
    a1 = (c01 * v0 + c11 * v1 + c12 * v2) * inv_det
    a2 = (c02 * v0 + c12 * v1 + c22 * v2) * inv_det
    b = mean_p - a0 * mean[0] - a1 * mean[1] - a2 * mean[2]
    coeffs = cv2.merge([box(a0, r), box(a1, r), box(a2, r)])
    b = box(b, r)
    if not same:
        coeffs = cv2.resize(coeffs, (gw, gh), interpolation=cv2.INTER_LINEAR)
        b = cv2.resize(b, (gw, gh), interpolation=cv2.INTER_LINEAR)
    q = cv2.multiply(coeffs, guide, scale=1.0 / 255.0, dtype=cv2.CV_32F)
    q = cv2.transform(q, np.ones((1, 3), np.float32))
    q += b
    return q


def grow_shrink(alpha: np.ndarray, px: float) -> np.ndarray:
    """Move the matte's edge outward (``px`` > 0) or inward (< 0) by ``px`` pixels.

    Grey-level dilation/erosion with a disc shifts the whole soft ramp, so the edge keeps
    its softness. A fractional radius blends the two neighbouring integer radii, so the
    slider moves the edge smoothly even when a 720p step is a fraction of a work pixel.
    """
    r = abs(float(px))
    if r < 0.05:
        return alpha
    morph = cv2.dilate if px > 0 else cv2.erode

    def at(radius: int) -> np.ndarray:
        if radius == 0:
            return alpha
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        return morph(alpha, disc, borderType=cv2.BORDER_REPLICATE)

    lo = int(r)
    frac = r - lo
    out = at(lo)
    if frac > 0.05:
        out = out + frac * (at(lo + 1) - out)
    return out
