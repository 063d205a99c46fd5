"""Colour decontamination: the person's own colour at soft edges, without the old room.

At a soft edge the camera pixel is ``I = αF + (1−α)B``: hair over a new background still
carries the old wall's colour ``B``. A matting model that predicts ``F`` (RVM's ``fgr``)
gives the correction ``Δ = F − I`` at the work size; ``Δ`` is smooth (it is the old
background's share), so it is carried at work size and added to the full-resolution
picture, which keeps the picture's own detail: ``F̂ = I + up(Δ)``.

Models without a foreground output get the blur-fusion estimate (Germer et al. 2021,
"Fast Multi-Level Foreground Estimation"): local foreground and background means, the
residual of the compositing equation given to the foreground.

Where ``α = 1`` both leave the picture alone (``Δ ≈ 0``); where ``α = 0`` the pixel is not
drawn. The OBS shader does the same addition (``effects/matte.effect``), with ``Δ``
uploaded as an 8-bit texture around mid-grey.
"""

from __future__ import annotations

import cv2
import numpy as np


def foreground_delta(foreground_rgb: np.ndarray, work: np.ndarray, fmt: str) -> np.ndarray:
    """``F − I`` (float32 HxWx3, −1…1) in the work picture's channel order ("bgr…"/"rgb…")."""
    pixels = work[..., :3].astype(np.float32) * (1.0 / 255.0)
    fg = foreground_rgb if fmt.startswith("rgb") else foreground_rgb[..., ::-1]
    return np.subtract(fg, pixels, dtype=np.float32)


def apply_delta(frame: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Decontaminated colour at the frame's size: uint8 HxWx3, the frame's channel order."""
    h, w = frame.shape[:2]
    if delta.shape[:2] != (h, w):
        delta = cv2.resize(delta, (w, h), interpolation=cv2.INTER_LINEAR)
    out = frame[..., :3].astype(np.float32) + delta * 255.0
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def encode_delta_bgra(delta: np.ndarray) -> np.ndarray:
    """``Δ`` as a BGRA8 texture around 128 (what the shader decodes), alpha unused (255)."""
    h, w = delta.shape[:2]
    out = np.empty((h, w, 4), np.uint8)
    out[..., :3] = np.clip(delta * 127.5 + 128.0, 0, 255).astype(np.uint8)
    out[..., 3] = 255
    return out


def blur_fusion(frame: np.ndarray, alpha: np.ndarray, radius: int) -> np.ndarray:
    """Foreground estimate for a model without one (uint8 frame, alpha float 0–1 same size).

    Two rounds of blur fusion (large radius, then small), each one box filter for the
    foreground and one for the background mean. Returns uint8 colour like ``apply_delta``.
    """
    image = frame[..., :3].astype(np.float32) * (1.0 / 255.0)
    a = np.clip(alpha, 0.0, 1.0).astype(np.float32)[..., None]
    fg, bg = image, image
    for r in (max(1, radius), max(1, radius // 8)):
        fg, bg = _blur_fusion_step(image, a, fg, bg, r)
    return np.clip(fg * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _blur_fusion_step(
    image: np.ndarray, a: np.ndarray, fg: np.ndarray, bg: np.ndarray, r: int
) -> tuple[np.ndarray, np.ndarray]:
    size = (2 * r + 1, 2 * r + 1)
    blur_a = cv2.blur(a[..., 0], size)[..., None]
    blur_fa = cv2.blur(fg * a, size)
    blur_f = blur_fa / (blur_a + 1e-5)
    blur_b1a = cv2.blur(bg * (1.0 - a), size)
    blur_b = blur_b1a / ((1.0 - blur_a) + 1e-5)
    fg = blur_f + a * (image - a * blur_f - (1.0 - a) * blur_b)
    return np.clip(fg, 0.0, 1.0), blur_b


def edge_colour_error(
    colour: np.ndarray, true_colour: np.ndarray, true_alpha: np.ndarray, band: np.ndarray
) -> float:
    """Mean |F̂ − F| (0–1, over channels) in ``band``, weighted by the true alpha.

    Weighting by α counts each pixel by how much of its colour a composite shows; pixels
    with no foreground (α = 0) have no true colour and count nothing.
    """
    w = np.where(band, true_alpha, 0.0).astype(np.float64)
    total = w.sum()
    if total <= 0:
        return float("nan")
    diff = np.abs(colour.astype(np.float64) - true_colour.astype(np.float64)).mean(axis=2)
    return float((diff * w).sum() / total)
