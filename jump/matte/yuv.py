"""A webcam's frame as OBS holds it (YUV or RGB planes) → BGRA at the worker's work size.

Runs on the matte worker's thread (the filter's ``filter_video`` only copies the planes,
``jump.obs.video_frame``). Planes are resized first (to the work size, a few hundred
pixels wide: cheap), then the frame's own YUV → RGB matrix is applied to the small
picture, vectorised. Both steps are linear, so their order does not change the result
(except for clipping at the gamut's edge). The matrix is OBS's ``color_matrix``: 4×4,
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
    return cv2.resize(np.ascontiguousarray(plane), size, interpolation=cv2.INTER_AREA)


def _yuv_planes(frame: PlaneFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Y, U, V) views of the frame at their own sizes (padding sliced off)."""
    w, h, fmt, p = frame.width, frame.height, frame.format, frame.planes
    cw = -(-w // 2)
    if fmt in PLANAR:
        sx, sy = PLANAR[fmt]
        chroma = (-(-h // sy), -(-w // sx))
        return (
            p[0][:h, :w],
            p[1][: chroma[0], : chroma[1]],
            p[2][: chroma[0], : chroma[1]],
        )
    if fmt == "NV12":
        uv = p[1][: -(-h // 2), : 2 * cw].reshape(-1, cw, 2)
        return p[0][:h, :w], uv[..., 0], uv[..., 1]
    if fmt in PACKED_422:
        y0, u, v = PACKED_422[fmt]
        quads = p[0][:h, : 4 * cw].reshape(h, cw, 4)
        luma = quads[..., [y0, y0 + 2]].reshape(h, 2 * cw)[:, :w]
        return luma, quads[..., u], quads[..., v]
    raise ValueError(f"not a YUV format: {fmt}")


def to_bgra(frame: PlaneFrame, size: tuple[int, int]) -> np.ndarray:
    """``frame`` as BGRA uint8 (h, w, 4) at ``size`` (w, h), upright (``flip`` honoured),
    opaque. Raises ValueError for a format not in ``FORMATS``."""
    w, h, fmt = frame.width, frame.height, frame.format
    if fmt not in FORMATS:
        raise ValueError(f"video format {fmt!r} is not converted")
    out = np.empty((size[1], size[0], 4), np.uint8)
    out[..., 3] = 255
    if fmt in RGB:
        pixels = _resize(frame.planes[0][:h, : 4 * w].reshape(h, w, 4), size)
        out[..., :3] = pixels[..., list(RGB[fmt])]
    elif fmt == "Y800":
        luma = _resize(frame.planes[0][:h, :w], size).astype(np.float32)
        if not frame.full_range:
            luma = (luma - 16.0) * (255.0 / 219.0)
        out[..., :3] = np.clip(luma + 0.5, 0, 255).astype(np.uint8)[..., None]
    else:
        y, u, v = (_resize(plane, size) for plane in _yuv_planes(frame))
        m = np.asarray(frame.color_matrix, np.float32).reshape(4, 4)
        if not m[:3, :3].any():  # a source that left it unset: OBS's default, BT.709
            m = obs_matrix(0.2126, 0.0722, frame.full_range)
        yuv = np.stack([y, u, v], axis=-1).astype(np.float32)
        # RGB = M3 · yuv/255 + offset, in 0..255, one matmul for the picture; B, G, R out
        m3 = m[2::-1, :3].T  # rows B, G, R of M as the matmul's columns
        bgr = yuv @ m3 + m[2::-1, 3] * 255.0
        out[..., :3] = np.clip(bgr + 0.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(out[::-1]) if frame.flip else out
