"""Colour decontamination: the person's own colour at soft edges, without the old room.

At a soft edge the camera pixel is ``I = αF + (1−α)B``: hair over a new background still
carries the old wall's colour ``B``. The engine estimates ``F`` at the work size with blur
fusion (Germer et al. 2021, "Fast Multi-Level Foreground Estimation": local foreground
and background means from the matte, the compositing equation's residual given to the
foreground) and hands on the correction ``Δ = F̂ − I``. ``Δ`` is smooth (it is the old
background's share), so it travels at work size and is added to the full-resolution
picture, which keeps the picture's own detail: ``F̂ = I + up(Δ)``. It fades out where the
matte is nearly opaque (``FADE``), so the inside of the person is never touched.

RVM predicts ``F`` itself (``fgr``), but on the eval composites its colour in the edge
band was further from the truth than the camera's own pixel, while blur fusion on RVM's
alpha was closer (docs/benchmarks.md, "Jump Matte: RVM"), so blur fusion serves every
model. The OBS shader does the same addition (``effects/matte.effect``), with ``Δ``
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


FADE = (0.5, 0.95)  # Δ at full strength below the first alpha, none above the second
TRACE = 0.02  # … and growing from none at α = 0 to full at this alpha


def edge_delta(work: np.ndarray, alpha: np.ndarray, radius: float) -> np.ndarray:
    """``F̂ − I`` (float32 HxWx3, −1…1, the work picture's channel order) at soft edges.

    ``work`` uint8 HxWx3/4, ``alpha`` float32 0–1 of the same size, ``radius`` in pixels
    of the work picture (the large of blur fusion's two rounds).
    """
    pixels = work[..., :3]
    fg = blur_fusion(pixels, alpha, max(1, round(radius))).astype(np.float32)
    delta = cv2.subtract(fg, pixels.astype(np.float32)) * (1.0 / 255.0)
    lo, hi = FADE
    fade = np.clip((hi - alpha) * (1.0 / (hi - lo)), 0.0, 1.0)
    # and none where nothing is drawn (α = 0), where blur fusion's F̂ is meaningless
    fade = np.minimum(fade, alpha * (1.0 / TRACE))
    return delta * fade[..., None]


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
    """Foreground estimate from a matte (uint8 frame, alpha float 0–1 same size).

    Two rounds of blur fusion (large radius, then small). The box filters run on the
    whole picture (cheap in OpenCV); the compositing-equation arithmetic only where
    0 < α < 1, since ``F̂ = I`` where α = 1 and nothing is drawn where α = 0. Returns
    uint8 colour like ``apply_delta``.
    """
    image = frame[..., :3].astype(np.float32) * (1.0 / 255.0)
    a = np.clip(alpha, 0.0, 1.0).astype(np.float32)
    soft = np.flatnonzero((a > 0.0) & (a < 1.0))
    fg, bg = image, image
    for r in (max(1, radius), max(1, radius // 8)):
        fg, bg = _blur_fusion_step(image, a, fg, bg, r, soft)
    return np.clip(fg * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _blur_fusion_step(
    image: np.ndarray, a: np.ndarray, fg: np.ndarray, bg: np.ndarray, r: int, soft: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    size = (2 * r + 1, 2 * r + 1)
    a3 = cv2.merge([a, a, a])
    blur_a = cv2.blur(a, size).reshape(-1, 1)[soft]
    blur_fa = cv2.blur(cv2.multiply(fg, a3), size).reshape(-1, 3)[soft]
    blur_b1a = cv2.blur(cv2.subtract(bg, cv2.multiply(bg, a3)), size).reshape(-1, 3)[soft]
    blur_f = blur_fa / (blur_a + 1e-5)
    blur_b = blur_b1a / ((1.0 - blur_a) + 1e-5)
    i, s = image.reshape(-1, 3)[soft], a.reshape(-1, 1)[soft]
    new_fg, new_bg = image.copy(), image.copy()
    new_fg.reshape(-1, 3)[soft] = np.clip(blur_f + s * (i - s * blur_f - (1.0 - s) * blur_b), 0, 1)
    new_bg.reshape(-1, 3)[soft] = blur_b
    return new_fg, new_bg
