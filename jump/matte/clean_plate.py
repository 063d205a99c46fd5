"""Clean plate: a picture of the empty room, learnt once, that overrules the model where it is sure.

The user steps out of the picture and the engine records a few seconds of the room at
work resolution. The plate is the per-pixel median of those frames (a passer-by or a
flickering screen is voted out) and the per-pixel noise is the median absolute deviation
(×1.4826 ≈ σ for Gaussian sensor noise), smoothed spatially because sensor noise varies
slowly across a picture and a handful of frames gives a jumpy estimate per pixel.

Live, each pixel's colour distance to the plate is measured in units of that noise:
- well within ``tolerance`` × noise: the room, as recorded → background, whatever the
  model thought (the poster, the door, the chair it sometimes takes for a person);
- far beyond it (``STRONG`` × tolerance): something that is not the room → foreground,
  even where the model dropped it (a held mug, a headset);
- in between: the model decides.

Two things change a room's colour without anything entering it, and both would read as
"foreground everywhere": the camera's auto-exposure / white balance (one gain per channel
for the whole frame, estimated from the pixels both the model and the plate call
background), and the person's shadow on the wall (darker, same chromaticity: only the
chromatic part of the difference counts as evidence for foreground there).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import cv2
import numpy as np

log = logging.getLogger("jump.matte")

# σ floor in 0–255 levels: a perfectly still synthetic source (an OBS image source) has
# no noise at all, and compression or dithering still wobbles a level or two.
NOISE_FLOOR = 1.5
# "differs strongly" = this many times the match tolerance
STRONG = 3.0
# A darker pixel whose colour direction matches the plate's within this (chromatic
# distance / brightness) is treated as a shadow: it never counts as foreground evidence.
SHADOW_RATIO = (0.35, 0.98)


@dataclass(frozen=True)
class CleanPlate:
    """The empty room at work resolution: median colour and per-pixel noise σ (levels)."""

    colour: np.ndarray  # float32 HxWx3, the frame's first three channels, 0–255
    noise: np.ndarray  # float32 HxW, σ in 0–255 levels (≥ NOISE_FLOOR)
    frames: int  # how many frames it was learnt from

    @property
    def size(self) -> tuple[int, int]:
        h, w = self.noise.shape
        return w, h

    def resized(self, size: tuple[int, int]) -> CleanPlate | None:
        """The same room at another work size (the Auto model choice changes it), or None
        when the aspect differs (another source or crop: not the same picture)."""
        w, h = size
        pw, ph = self.size
        if abs(w / h - pw / ph) > 0.01 * (pw / ph):
            return None
        colour = cv2.resize(self.colour, (w, h), interpolation=cv2.INTER_AREA)
        # averaging k² pixels of independent noise lowers σ by k; the floor still holds
        k = max(1.0, (pw / w + ph / h) / 2.0)
        noise = cv2.resize(self.noise, (w, h), interpolation=cv2.INTER_LINEAR) / k
        return CleanPlate(colour, np.maximum(noise, NOISE_FLOOR), self.frames)

    @classmethod
    def from_frames(cls, frames: list[np.ndarray]) -> CleanPlate:
        """Median and robust noise of a stack of same-size pictures (HxWx3/4 uint8)."""
        stack = np.stack([f[..., :3] for f in frames]).astype(np.float32)
        median = np.median(stack, axis=0)
        if len(frames) >= 3:
            mad = np.median(np.abs(stack - median), axis=0).mean(axis=2) * 1.4826
            # noise varies slowly across the picture; a few frames give a jumpy estimate
            k = max(3, (min(mad.shape) // 24) | 1)
            noise = cv2.blur(mad, (k, k))
        else:
            noise = np.zeros(median.shape[:2], np.float32)
        return cls(median, np.maximum(noise, NOISE_FLOOR).astype(np.float32), len(frames))

    @classmethod
    def from_image(cls, image: np.ndarray, size: tuple[int, int]) -> CleanPlate:
        """A single picture of the empty room (the CLI's ``--plate``): noise unknown, floor."""
        w, h = size
        picture = cv2.resize(image[..., :3], (w, h), interpolation=cv2.INTER_AREA)
        return cls(picture.astype(np.float32), np.full((h, w), NOISE_FLOOR * 1.5, np.float32), 1)


class PlateRecorder:
    """Collects work-size frames until it has ``frames`` of them or ``seconds`` have passed."""

    def __init__(self, frames: int = 45, seconds: float = 3.0) -> None:
        self.want = max(1, int(frames))
        self.seconds = seconds
        self.start = time.monotonic()
        self.frames: list[np.ndarray] = []

    def add(self, frame: np.ndarray) -> CleanPlate | None:
        """Record a frame; the finished plate once enough time or frames were seen."""
        pixels = frame[..., :3]
        if self.frames and self.frames[0].shape != pixels.shape:
            self.frames.clear()  # the source changed size mid-capture: start over
        self.frames.append(np.array(pixels, copy=True))
        enough_time = time.monotonic() - self.start >= self.seconds and len(self.frames) >= 3
        if len(self.frames) >= self.want or enough_time:
            return CleanPlate.from_frames(self.frames)
        return None


def _smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    t = np.clip((x - lo) * (1.0 / max(hi - lo, 1e-6)), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


_SUM3 = np.ones((1, 3), np.float32)


def _channel_sum(img: np.ndarray) -> np.ndarray:
    """Per-pixel sum over the 3 channels of a float32 HxWx3 picture (one cv2 pass)."""
    return cv2.transform(img, _SUM3)


def exposure_gain(live: np.ndarray, plate: CleanPlate, alpha: np.ndarray) -> np.ndarray:
    """Per-channel gain live/plate over pixels the model calls background (auto-exposure)."""
    # every 4th pixel each way: a median over ~9k pixels is as good and 16× cheaper
    bg = alpha[::4, ::4] < 0.1
    if bg.sum() < 0.05 * bg.size:
        return np.ones(3, np.float32)
    ratios = (live[::4, ::4][bg] + 4.0) / (plate.colour[::4, ::4][bg] + 4.0)
    # median: the poster or chair the model calls person does not vote; clamp: a camera
    # does not change exposure by more than this between frames one would compare
    return np.clip(np.median(ratios, axis=0), 0.5, 2.0).astype(np.float32)


def plate_evidence(
    live: np.ndarray, plate: CleanPlate, alpha: np.ndarray, tolerance: float
) -> tuple[np.ndarray, np.ndarray]:
    """(background, foreground) evidence in 0–1 at work size; never both above 0.

    ``live`` is the work picture (HxWx3/4 uint8, the plate's channel order), ``alpha`` the
    model's matte at work size (for the exposure estimate), ``tolerance`` in noise σ.
    """
    pixels = live[..., :3] if live.shape[2] == 3 else cv2.cvtColor(live, cv2.COLOR_BGRA2BGR)
    frame = pixels.astype(np.float32)
    room = plate.colour * exposure_gain(frame, plate, alpha)
    diff = cv2.subtract(frame, room)
    inv_noise = 1.0 / plate.noise
    # RMS over channels in units of the learnt noise, box-smoothed over 3×3 so single
    # noisy pixels do not decide
    z = cv2.sqrt(_channel_sum(cv2.multiply(diff, diff)) * (1.0 / 3.0)) * inv_noise
    z = cv2.blur(z, (3, 3))
    tol = max(0.5, float(tolerance))
    background = 1.0 - _smoothstep(z, tol, 1.5 * tol)
    # shadow: darker along the plate's own colour direction → only the chromatic part
    # of the difference is evidence of something new
    dot = _channel_sum(cv2.multiply(frame, room))
    brightness = dot / (_channel_sum(cv2.multiply(room, room)) + 1e-3)
    chroma2 = _channel_sum(cv2.multiply(frame, frame)) - dot * brightness
    chroma = cv2.sqrt(np.maximum(chroma2, 0.0) * (1.0 / 3.0)) * inv_noise
    shadow = (brightness > SHADOW_RATIO[0]) & (brightness < SHADOW_RATIO[1])
    z_fg = np.where(shadow, cv2.blur(chroma, (3, 3)), z)
    foreground = _smoothstep(z_fg, STRONG * tol, 1.5 * STRONG * tol)
    return background.astype(np.float32), foreground.astype(np.float32)


def apply_plate(
    alpha: np.ndarray, live: np.ndarray, plate: CleanPlate, tolerance: float
) -> np.ndarray:
    """The model's alpha with the plate's sure answers laid over it (float32 0–1, work size)."""
    background, foreground = plate_evidence(live, plate, alpha, tolerance)
    out = alpha * (1.0 - background)
    out += foreground * (1.0 - out)
    return out
