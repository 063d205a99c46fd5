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
model. In OBS the shader decontaminates from the mask by itself (blur fusion at a quarter
of the work size, ``jump/filters/matte_fusion.py``); ``decontaminate_frame`` below is its
twin, which the CLI's compositor uses.
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


class EdgeDecontaminator:
    """``F̂ − I`` at soft edges (``__call__``), with its scratch pictures kept from one mask
    to the next: the arithmetic runs in place, since on a virtual machine a fresh
    megabyte array costs as much in page faults as the arithmetic on it (measured: 20 ms
    a mask at 512×288 with fresh arrays, 11 ms in place). One per engine (one thread);
    seven float pictures of the work size (12 MB at 512×288).
    """

    def __init__(self) -> None:
        self._scratch: list[np.ndarray] = []

    def __call__(self, work: np.ndarray, alpha: np.ndarray, radius: float) -> np.ndarray:
        """float32 HxWx3 (−1…1, the work picture's channel order), a new array.

        ``work`` uint8 HxWx3/4, ``alpha`` float32 0–1 of the same size, ``radius`` in
        pixels of the work picture (the large of blur fusion's two rounds).
        """
        h, w = alpha.shape
        if not self._scratch or self._scratch[0].shape != (h, w, 3):
            self._scratch = [np.empty((h, w, 3), np.float32) for _ in range(7)]
        image, a3, fg_a, bg_1a, mean_f, mean_b, t = self._scratch
        cv2.multiply(work[..., :3], 1.0 / 255.0, dst=image, dtype=cv2.CV_32F)
        a = np.clip(alpha, 0.0, 1.0).astype(np.float32, copy=False)
        cv2.merge([a, a, a], dst=a3)
        cv2.multiply(a3, image, dst=fg_a)  # αF and (1 − α)B with F = B = I
        cv2.subtract(image, fg_a, dst=bg_1a)
        not_drawn = (a <= 0.0).view(np.uint8)
        rounds = (max(1, round(radius)), max(1, round(radius) // 8))
        for k, r in enumerate(rounds):
            size = (2 * r + 1, 2 * r + 1)
            blur_a = cv2.blur(a, size)
            cv2.multiply(
                cv2.blur(fg_a, size, dst=mean_f), _merge3(1.0 / (blur_a + 1e-5), t), dst=mean_f
            )
            cv2.multiply(
                cv2.blur(bg_1a, size, dst=mean_b),
                _merge3(1.0 / (1.0 + 1e-5 - blur_a), t),
                dst=mean_b,
            )
            # F̂ = F̄ + α (I − B̄ − α (F̄ − B̄)), clipped to the colour range; where α = 1
            # this is I by itself, so the whole picture runs without picking out the band
            fg = fg_a  # αF is not needed again this round
            cv2.multiply(cv2.subtract(mean_f, mean_b, dst=t), a3, dst=t)
            cv2.subtract(cv2.subtract(image, mean_b, dst=fg), t, dst=fg)
            cv2.add(cv2.multiply(fg, a3, dst=fg), mean_f, dst=fg)
            np.clip(fg, 0.0, 1.0, out=fg)
            if k + 1 < len(rounds):
                # the next round averages this round's estimates: F̂, and B̄ where the
                # person is drawn but the picture itself where α = 0 (the background)
                cv2.copyTo(image, not_drawn, mean_b)
                cv2.subtract(mean_b, cv2.multiply(mean_b, a3, dst=t), dst=bg_1a)
                fg_a, mean_f = cv2.multiply(fg, a3, dst=mean_f), fg
        lo, hi = FADE
        fade = np.clip((hi - a) * (1.0 / (hi - lo)), 0.0, 1.0)
        # and none where nothing is drawn (α = 0), where blur fusion's F̂ is meaningless
        np.minimum(fade, a * (1.0 / TRACE), out=fade)
        delta = cv2.subtract(fg, image, dst=t)
        return cv2.multiply(delta, _merge3(fade, a3))


def _merge3(channel: np.ndarray, dst: np.ndarray) -> np.ndarray:
    return cv2.merge([channel, channel, channel], dst=dst)


def edge_delta(work: np.ndarray, alpha: np.ndarray, radius: float) -> np.ndarray:
    """``F̂ − I`` at soft edges for one picture (see ``EdgeDecontaminator``)."""
    return EdgeDecontaminator()(work, alpha, radius)


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


# --- the shader's twin ------------------------------------------------------------------
# effects/matte.effect decontaminates on the GPU from the work capture, the mask and the
# full-resolution source; the CLI's compositor runs the same maths here, step for step, so
# both show the same colour (tests/unit/test_decontaminate.py holds them together). Blur
# fusion in two rounds, both at 1/4 of the work size (1/2 below 400 work rows), since the local means are
# smooth: round 1 averages each block of (rgb·α, α) and (rgb·(1−α), 1−α)
# and boxes 3×3 blocks; round 2 averages the blocks of round 1's per-pixel estimates
# (F̂·α, B̂·(1−α)) without a box. Measured on the eval composites (docs/benchmarks.md,
# "Decontamination in the shader"): better than the work-size rounds it replaced.

BLOCKS = (4, 2)  # work pixels per reduced texel, per axis: from 400 work rows, below


def block_size(work_h: int) -> int:
    """Work pixels per reduced texel: 4 at RVM's 504 rows, 2 at MediaPipe's 288, so a
    block stays 5–6 px of a 720p frame (wider boxes lost colour on the loose masks of the
    eval's mixed set: benchmarks.md)."""
    return BLOCKS[0] if work_h >= 400 else BLOCKS[1]


BOX = 1  # round 1's box half-width, reduced texels
EPS = 1e-5  # as blur fusion's: an empty side's mean is 0, never a division by zero


def fusion_size(work_w: int, work_h: int) -> tuple[int, int]:
    """(w, h) of the reduced means: the work size / block, rounded up (edge texels clamp)."""
    b = block_size(work_h)
    return -(-work_w // b), -(-work_h // b)


def _blocks(sums: np.ndarray) -> np.ndarray:
    """Mean of each block (``block_size``), the picture padded by its edge pixels (the
    shader's clamped taps)."""
    h, w, c = sums.shape
    rw, rh = fusion_size(w, h)
    b = block_size(h)
    sums = np.pad(sums, ((0, rh * b - h), (0, rw * b - w), (0, 0)), mode="edge")
    return sums.reshape(rh, b, rw, b, c).mean(axis=(1, 3), dtype=np.float32)


def _means(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(F̄, B̄) from (Σ F·α, Σ α, Σ B·(1−α), Σ 1−α)."""
    return (
        sums[..., :3] / (sums[..., 3:4] + EPS),
        sums[..., 4:7] / (sums[..., 7:8] + EPS),
    )


def _sample(means: np.ndarray, w: int, h: int, work_size: tuple[int, int]) -> np.ndarray:
    """The reduced sums sampled bilinearly at the centres of a w×h grid over the picture
    (the reduced texture spans fusion_size·block work pixels, so the uv is scaled)."""
    ww, wh = work_size
    b = block_size(wh)
    xs = (np.arange(w, dtype=np.float32) + 0.5) * (ww / (w * b)) - 0.5
    ys = (np.arange(h, dtype=np.float32) + 0.5) * (wh / (h * b)) - 0.5
    mx, my = np.meshgrid(xs, ys)
    return np.concatenate(
        [
            cv2.remap(means[..., c : c + 4], mx, my, cv2.INTER_LINEAR, cv2.BORDER_REPLICATE)
            for c in (0, 4)
        ],
        axis=2,
    )


def _fuse(image: np.ndarray, a: np.ndarray, sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Blur fusion's step: ``F̂ = F̄ + α(I − αF̄ − (1−α)B̄)`` clipped, and ``B̄``."""
    mean_f, mean_b = _means(sums)
    fg = np.clip(mean_f + a * (image - a * mean_f - (1.0 - a) * mean_b), 0.0, 1.0)
    return fg, mean_b


def fusion_means(work: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The shader's fusion passes: reduced (Σ F·α, Σ α, Σ B·(1−α), Σ 1−α), float32 HxWx8
    at ``fusion_size`` of the work picture.

    ``work`` uint8 HxWx3/4 (its channel order is kept), ``alpha`` 0–1 of the same size.
    """
    h, w = alpha.shape[:2]
    a = np.clip(alpha.astype(np.float32), 0.0, 1.0)[..., None]
    image = work[..., :3].astype(np.float32) * (1.0 / 255.0)
    # round 1: the picture itself on both sides, then a 3×3 box of blocks
    first = _blocks(np.concatenate([image * a, a, image * (1.0 - a), 1.0 - a], axis=2))
    first = cv2.blur(first, (2 * BOX + 1, 2 * BOX + 1), borderType=cv2.BORDER_REPLICATE)
    # round 2: round 1's estimates at each work pixel; B̂ is the picture where α = 0
    fg, mean_b = _fuse(image, a, _sample(first, w, h, (w, h)))
    bg = np.where(a > 0.0, mean_b, image)
    return _blocks(np.concatenate([fg * a, a, bg * (1.0 - a), 1.0 - a], axis=2))


def fused_colour(
    frame: np.ndarray, alpha: np.ndarray, means: np.ndarray, work_size: tuple[int, int]
) -> np.ndarray:
    """The decontaminated picture at the frame's size (uint8 HxWx3, the frame's order).

    ``alpha`` 0–1 float or uint8 at the frame's size (the mask as the shader samples it),
    ``means`` from ``fusion_means`` on the work picture of ``work_size`` (w, h): sampled
    bilinearly, then blur fusion's step on the frame's own pixels, faded like
    ``EdgeDecontaminator`` (full strength in the soft band, none at α = 0 or near 1).
    """
    h, w = frame.shape[:2]
    a = alpha.astype(np.float32)
    if alpha.dtype == np.uint8:
        a *= 1.0 / 255.0
    a = a[..., None]
    image = frame[..., :3].astype(np.float32) * (1.0 / 255.0)
    fg, _ = _fuse(image, a, _sample(means, w, h, work_size))
    lo, hi = FADE
    fade = np.minimum(np.clip((hi - a) * (1.0 / (hi - lo)), 0.0, 1.0), a * (1.0 / TRACE))
    out = image + (fg - image) * fade
    return np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)


def decontaminate_frame(
    frame: np.ndarray, alpha: np.ndarray, work_size: tuple[int, int]
) -> np.ndarray:
    """What the OBS shader shows for one frame: ``frame`` uint8 HxWx3/4, ``alpha`` at the
    frame's size (uint8 or 0–1), ``work_size`` the engine's (w, h)."""
    ww, wh = work_size
    work = cv2.resize(frame[..., :3], (ww, wh), interpolation=cv2.INTER_AREA)
    a = alpha.astype(np.float32) * (1.0 / 255.0) if alpha.dtype == np.uint8 else alpha
    a_work = cv2.resize(a, (ww, wh), interpolation=cv2.INTER_AREA)
    return fused_colour(frame, alpha, fusion_means(work, a_work), work_size)
