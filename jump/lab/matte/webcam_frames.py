"""BGR pictures as a webcam hands them to OBS: YUV (or RGB) planes with padded rows.

The live mode (``jump.lab.matte.live``) feeds the worker these, as OBS's ``filter_video``
does for an async source, and the conversion's tests (tests/unit/test_yuv.py) build every
format from a known picture. The RGB → YUV direction is written from the standard's
formulas (BT.601/BT.709 luma weights, limited 16–235/16–240 or full range), independently
of ``jump.matte.yuv``'s YUV → RGB matrix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from jump.matte.yuv import obs_matrix

BT709 = (0.2126, 0.0722)  # (Kr, Kb)
BT601 = (0.299, 0.114)


@dataclass
class Planes:
    """A ``jump.matte.yuv.PlaneFrame`` in plain memory (``release`` counts its calls)."""

    format: str
    width: int
    height: int
    planes: list[np.ndarray]
    color_matrix: np.ndarray
    full_range: bool = False
    flip: bool = False
    released: int = field(default=0)

    def release(self) -> None:
        self.released += 1


def _yuv(bgr: np.ndarray, kr: float, kb: float, full_range: bool) -> list[np.ndarray]:
    b, g, r = (bgr[..., i].astype(np.float64) for i in range(3))
    y = kr * r + (1.0 - kr - kb) * g + kb * b
    cb = (b - y) / (2.0 * (1.0 - kb))
    cr = (r - y) / (2.0 * (1.0 - kr))
    if not full_range:
        y, cb, cr = 16.0 + y * 219.0 / 255.0, cb * 224.0 / 255.0, cr * 224.0 / 255.0
    return [np.clip(np.rint(p), 0, 255).astype(np.uint8) for p in (y, 128.0 + cb, 128.0 + cr)]


def _padded(rows: np.ndarray, pad: int) -> np.ndarray:
    """rows (h, bytes) with ``pad`` bytes of junk after each row (linesize > row)."""
    out = np.full((rows.shape[0], rows.shape[1] + pad), 0xA5, np.uint8)
    out[:, : rows.shape[1]] = rows
    return out


def encode(
    bgr: np.ndarray,
    fmt: str,
    matrix: tuple[float, float] = BT709,
    full_range: bool = False,
    pad: int = 0,
    flip: bool = False,
) -> Planes:
    """``bgr`` (h, w, 3) in OBS's layout for ``fmt``; ``flip``: stored bottom-up, as a
    source that sets the frame's ``flip`` does."""
    h, w = bgr.shape[:2]
    if flip:
        bgr = bgr[::-1]
    cw, ch = -(-w // 2), -(-h // 2)
    m = obs_matrix(*matrix, full_range)
    if fmt in ("RGBA", "BGRA", "BGRX"):
        order = [2, 1, 0] if fmt == "RGBA" else [0, 1, 2]
        px = np.empty((h, w, 4), np.uint8)
        px[..., :3] = bgr[..., order]
        px[..., 3] = 255 if fmt != "BGRX" else 7  # X: anything
        return Planes(fmt, w, h, [_padded(px.reshape(h, 4 * w), pad)], m, full_range, flip)
    y, u, v = _yuv(bgr, *matrix, full_range)

    def half(p: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        return cv2.resize(p, size, interpolation=cv2.INTER_AREA)

    if fmt == "Y800":
        planes = [y]
    elif fmt == "I444":
        planes = [y, u, v]
    elif fmt == "I422":
        planes = [y, half(u, (cw, h)), half(v, (cw, h))]
    elif fmt == "I420":
        planes = [y, half(u, (cw, ch)), half(v, (cw, ch))]
    elif fmt == "NV12":
        uv = np.stack([half(u, (cw, ch)), half(v, (cw, ch))], axis=-1).reshape(ch, 2 * cw)
        planes = [y, uv]
    elif fmt in ("YUY2", "YVYU", "UYVY"):
        luma = np.concatenate([y, y[:, -1:]], axis=1)[:, : 2 * cw]  # odd width: repeat
        pairs = luma.reshape(h, cw, 2)
        u2, v2 = half(u, (cw, h)), half(v, (cw, h))
        layout = {
            "YUY2": (pairs[..., 0], u2, pairs[..., 1], v2),
            "YVYU": (pairs[..., 0], v2, pairs[..., 1], u2),
            "UYVY": (u2, pairs[..., 0], v2, pairs[..., 1]),
        }[fmt]
        planes = [np.stack(layout, axis=-1).reshape(h, 4 * cw)]
    else:
        raise ValueError(f"no encoder for {fmt}")
    return Planes(fmt, w, h, [_padded(p, pad) for p in planes], m, full_range, flip)
