"""A webcam's frame as OBS holds it (YUV or RGB planes) → BGRA at the worker's work size.

Runs on the matte worker's thread (the filter's ``filter_video`` only copies the planes,
``jump.obs.video_frame``). Planes are resized first (to the work size, a few hundred
pixels wide: cheap), then the frame's own YUV → RGB matrix is applied to the small
picture (one affine transform per pixel). Both steps are linear, so their order does
not change the result (except for clipping at the gamut's edge). The matrix is OBS's ``color_matrix``: 4×4,
row-major, RGB = M · (Y, U, V, 1) with every value in 0..1 — range included, as
``video_format_get_parameters`` (media-io/video-matrices.c) fills it.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

# formats converted here, as ``jump.obs.video_frame.FORMATS`` names them
PLANAR = {"I420": (2, 2), "I422": (2, 1), "I444": (1, 1)}  # chroma subsampling (x, y)
PACKED_422 = {"YUY2": (0, 1, 3), "YVYU": (0, 3, 1), "UYVY": (1, 0, 2)}  # (Y0, U, V) byte
RGB = {"RGBA": (2, 1, 0), "BGRA": (0, 1, 2), "BGRX": (0, 1, 2)}  # B, G, R byte positions
FORMATS = frozenset(PLANAR) | {"NV12", "Y800"} | frozenset(PACKED_422) | frozenset(RGB)


class PlaneFrame(Protocol):
    """What ``to_bgra`` reads (``jump.obs.video_frame.FrameCopy`` is one)."""

    format: str
    width: int
    height: int
    planes: list[np.ndarray]  # each rows × linesize, uint8 (padding after the row)
    color_matrix: np.ndarray  # 4×4 float
    full_range: bool
    flip: bool

    def release(self) -> None: ...


def obs_matrix(kr: float, kb: float, full_range: bool) -> np.ndarray:
    """OBS's 8-bit YUV → RGB matrix for the luma coefficients ``kr``, ``kb`` (BT.709:
    0.2126, 0.0722; BT.601: 0.299, 0.114), as ``initialize_matrix`` builds it. For a
    frame whose matrix is unset (all zero), and for tests."""
    lo, y_hi, c_hi = (0.0, 255.0, 255.0) if full_range else (16.0, 235.0, 240.0)
    ys = 255.0 / (y_hi - lo)
    cs = 255.0 / ((c_hi - lo) / 2.0)
    kg = 1.0 - kr - kb
    m3 = np.array(
        [
            [ys, 0.0, cs * (1.0 - kr)],
            [ys, cs * (kb - 1.0) * kb / kg, cs * (kr - 1.0) * kr / kg],
            [ys, cs * (1.0 - kb), 0.0],
        ]
    )
    black = np.array([lo, 128.0, 128.0]) / 255.0
    m = np.eye(4)
    m[:3, :3] = m3
    m[:3, 3] = -m3 @ black
    return m.astype(np.float32)


def _resize(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if plane.shape[1::-1] == size:
        return plane
    if plane.ndim == 3:  # OpenCV's area filter is slower on row-padded multi-channel views
        plane = np.ascontiguousarray(plane)
    # halving is the area filter's fast path (2×2 means): 1080p → 512×288 in two steps
    # costs less than half of one, for the same box-filtered picture (even sizes only:
    # an odd one would shift the picture)
    h, w = plane.shape[:2]
    while w >= 2 * size[0] and h >= 2 * size[1] and w % 2 == 0 and h % 2 == 0:
        w, h = w // 2, h // 2
        plane = cv2.resize(plane, (w, h), interpolation=cv2.INTER_AREA)
    return cv2.resize(plane, size, interpolation=cv2.INTER_AREA)


def _yuv_at(frame: PlaneFrame, size: tuple[int, int]) -> np.ndarray:
    """(Y, U, V) of the frame resized to ``size``, as one (h, w, 3) uint8 picture."""
    w, h, fmt, p = frame.width, frame.height, frame.format, frame.planes
    cw, ch = -(-w // 2), -(-h // 2)
    if fmt in PLANAR:
        sx, sy = PLANAR[fmt]
        rows, cols = -(-h // sy), -(-w // sx)
        planes = [p[0][:h, :w], p[1][:rows, :cols], p[2][:rows, :cols]]
        return cv2.merge([_resize(plane, size) for plane in planes])
    if fmt == "NV12":
        uv = _resize(p[1][:ch, : 2 * cw].reshape(ch, cw, 2), size)
        return cv2.merge([_resize(p[0][:h, :w], size), uv])
    if fmt in PACKED_422:
        y0, u, v = PACKED_422[fmt]
        pairs = np.ascontiguousarray(p[0][:h, : 4 * cw]).reshape(h, 2 * cw, 2)
        luma = pairs[..., y0 % 2] if w == 2 * cw else pairs[:, :w, y0 % 2]
        chroma = _resize(pairs.reshape(h, cw, 4), size)
        return np.dstack([_resize(luma, size), chroma[..., u], chroma[..., v]])
    raise ValueError(f"not a YUV format: {fmt}")


def to_bgra(frame: PlaneFrame, size: tuple[int, int]) -> np.ndarray:
    """``frame`` as BGRA uint8 (h, w, 4) at ``size`` (w, h), upright (``flip`` honoured),
    opaque. Raises ValueError for a format not in ``FORMATS``."""
    w, h, fmt = frame.width, frame.height, frame.format
    if fmt not in FORMATS:
        raise ValueError(f"video format {fmt!r} is not converted")
    if fmt in RGB:
        pixels = _resize(frame.planes[0][:h, : 4 * w].reshape(h, w, 4), size)
        out = cv2.cvtColor(pixels, cv2.COLOR_RGBA2BGRA) if fmt == "RGBA" else pixels.copy()
        out[..., 3] = 255
    elif fmt == "Y800":
        luma = _resize(frame.planes[0][:h, :w], size)
        if not frame.full_range:  # 16..235 -> 0..255, saturated
            luma = cv2.convertScaleAbs(luma, alpha=255.0 / 219.0, beta=-16.0 * 255.0 / 219.0)
        out = cv2.cvtColor(luma, cv2.COLOR_GRAY2BGRA)
    else:
        yuv = _yuv_at(frame, size)
        m = np.asarray(frame.color_matrix, np.float32).reshape(4, 4)
        if not m[:3, :3].any():  # a source that left it unset: OBS's default, BT.709
            m = obs_matrix(0.2126, 0.0722, frame.full_range)
        # B, G, R = rows 2, 1, 0 of M on (Y, U, V) in 0..255, offset scaled to 0..255:
        # one affine transform per pixel, rounded and saturated (OpenCV, SIMD)
        affine = np.concatenate([m[2::-1, :3], m[2::-1, 3:4] * 255.0], axis=1)
        bgr = cv2.transform(yuv, affine.astype(np.float32))
        out = cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
    return np.ascontiguousarray(out[::-1]) if frame.flip else out
