"""Compositing a frame with its matte: the CPU reference of what the GPU shader must do.

Conventions: frames are BGR (or BGRA) uint8, alpha is uint8 HxW (255 = person).

- ``transparent``: premultiplied BGRA — what OBS blends (``src + (1−a)·dst``); a
  straight-alpha PNG for files comes from ``straight_rgba``.
- ``blur``: the background blurred **without sampling the person**: a mask-weighted
  blur, ``blur(F·(1−a)) / blur(1−a)``, so no halo of the person's colours bleeds around
  the silhouette (obs-backgroundremoval #414); where the person hides everything the
  plain blur fills in.
- ``colour`` / ``image``: the person over a solid colour or a picture (cover-fitted).
"""

from __future__ import annotations

import re

import cv2
import numpy as np


def _a(alpha: np.ndarray) -> np.ndarray:
    return alpha.astype(np.float32)[..., None] * (1.0 / 255.0)


def _u8(img: np.ndarray) -> np.ndarray:
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def premultiplied_bgra(frame: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """BGRA with colour multiplied by alpha: OBS's blending for transparent output."""
    a = _a(alpha)
    out = np.empty((*frame.shape[:2], 4), np.uint8)
    out[..., :3] = _u8(frame[..., :3].astype(np.float32) * a)
    out[..., 3] = alpha
    return out


def straight_rgba(frame: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """BGRA with the frame's colour untouched and the matte as alpha (for PNG files)."""
    out = np.empty((*frame.shape[:2], 4), np.uint8)
    out[..., :3] = frame[..., :3]
    out[..., 3] = alpha
    return out


def over(frame: np.ndarray, alpha: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Person over ``background`` (same size, BGR uint8)."""
    a = _a(alpha)
    f = frame[..., :3].astype(np.float32)
    return _u8(background[..., :3].astype(np.float32) + a * (f - background[..., :3]))


def over_colour(frame: np.ndarray, alpha: np.ndarray, bgr: tuple[int, int, int]) -> np.ndarray:
    bg = np.empty((*frame.shape[:2], 3), np.uint8)
    bg[...] = bgr
    return over(frame, alpha, bg)


def fit_cover(image: np.ndarray, w: int, h: int) -> np.ndarray:
    """``image`` scaled and centre-cropped to fill w×h."""
    ih, iw = image.shape[:2]
    s = max(w / iw, h / ih)
    sw, sh = max(w, round(iw * s)), max(h, round(ih * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    big = cv2.resize(image[..., :3], (sw, sh), interpolation=interp)
    x, y = (sw - w) // 2, (sh - h) // 2
    return big[y : y + h, x : x + w]


def over_image(frame: np.ndarray, alpha: np.ndarray, image: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    return over(frame, alpha, fit_cover(image, w, h))


def background_blur(frame: np.ndarray, alpha: np.ndarray, radius_frac: float = 0.02) -> np.ndarray:
    """The frame's background blurred without sampling the person, then the person on top.

    ``radius_frac`` is the blur's sigma as a fraction of the frame height. The blur runs
    at a quarter of the resolution (a wide Gaussian loses nothing there) and is
    upsampled, as a shader's Kawase chain would.
    """
    h, w = frame.shape[:2]
    f = frame[..., :3].astype(np.float32)
    bg_w = 1.0 - _a(alpha)
    # the background's weight, hardened so the soft edge of the person does not tint it
    bg_w = np.clip((bg_w - 0.1) * (1.0 / 0.9), 0.0, 1.0)
    sw, sh = max(1, w // 4), max(1, h // 4)
    small_fw = cv2.resize(
        np.concatenate([f * bg_w, bg_w], axis=2), (sw, sh), interpolation=cv2.INTER_AREA
    )
    sigma = max(1.0, radius_frac * sh)
    blurred = cv2.GaussianBlur(small_fw, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    plain = cv2.GaussianBlur(
        cv2.resize(f, (sw, sh), interpolation=cv2.INTER_AREA),
        (0, 0),
        sigma,
        borderType=cv2.BORDER_REPLICATE,
    )
    weight = blurred[..., 3:4]
    # where almost no background was in reach, fall back to the plain blur
    mix = np.clip(weight * 20.0, 0.0, 1.0)
    bg_small = mix * (blurred[..., :3] / np.maximum(weight, 1e-4)) + (1.0 - mix) * plain
    bg = cv2.resize(bg_small, (w, h), interpolation=cv2.INTER_LINEAR)
    return over(frame, alpha, bg)


_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


def parse_colour(text: str) -> tuple[int, int, int] | None:
    """'#RRGGBB' → (b, g, r), or None if ``text`` is not a colour."""
    m = _HEX.match(text.strip())
    if not m:
        return None
    v = int(m.group(1), 16)
    return (v & 255, (v >> 8) & 255, (v >> 16) & 255)


def mask_view(alpha: np.ndarray) -> np.ndarray:
    """The matte as an opaque black-and-white BGR picture (the filter's Mask view)."""
    return cv2.cvtColor(alpha, cv2.COLOR_GRAY2BGR)


def overlay_view(frame: np.ndarray, alpha: np.ndarray, strength: float = 0.6) -> np.ndarray:
    """The frame with what is cut away tinted red (the filter's Overlay view; the shader
    mixes in linear light, this in sRGB: close, not identical)."""
    f = frame[..., :3].astype(np.float32)
    k = strength * (1.0 - _a(alpha))
    return _u8(f + k * (np.array([0.0, 0.0, 255.0], np.float32) - f))
