"""Keep zones: a mask picture that overrules the model in parts of the frame.

White = always keep (a mic arm, a product on the desk), black = always remove (a corner
that must stay clear), grey = the model decides. Transparent pixels of a PNG count as
grey. The picture is stretched to the source (so draw it on a screenshot of the camera)
and scaled to the engine's work size once per size; a soft brush edge gives a soft
transition. A missing or unreadable file is ignored with one log line.
"""

from __future__ import annotations

import logging
import os

import cv2
import numpy as np

from jump.images import read_image

log = logging.getLogger("jump.matte")

# grey levels (0–1) at and beyond which a zone is fully "keep" / "remove"; the ramps
# between them and mid-grey let a soft brush edge fade the override in
KEEP_FROM, KEEP_FULL = 0.75, 0.95
REMOVE_FROM, REMOVE_FULL = 0.25, 0.05


class KeepZones:
    """The zone picture for one path, loaded once and resized per work size."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.grey: np.ndarray | None = None  # float32 0–1 at the file's size
        self._scaled: tuple[tuple[int, int], np.ndarray, np.ndarray] | None = None
        self.error: str | None = None
        self._load()

    def _load(self) -> None:
        img = None
        if self.path and os.path.isfile(self.path):
            img = read_image(self.path, cv2.IMREAD_UNCHANGED)  # any Unicode path
        if img is None or img.size == 0:
            self.error = f"keep-zones image {self.path!r} is missing or unreadable: ignored"
            log.warning("Jump Matte: %s", self.error)
            return
        img = img.astype(np.float32) * (1.0 / (65535.0 if img.dtype == np.uint16 else 255.0))
        if img.ndim == 2:
            grey = img
        else:
            grey = cv2.cvtColor(img[..., :3], cv2.COLOR_BGR2GRAY)
            if img.shape[2] == 4:  # transparent = "the model decides"
                a = img[..., 3]
                grey = grey * a + 0.5 * (1.0 - a)
        self.grey = grey

    def overrides(self, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
        """(keep, remove) weights 0–1 at ``size`` (w, h), or None without a usable picture."""
        if self.grey is None:
            return None
        if self._scaled is None or self._scaled[0] != size:
            z = cv2.resize(self.grey, size, interpolation=cv2.INTER_AREA)
            keep = np.clip((z - KEEP_FROM) / (KEEP_FULL - KEEP_FROM), 0.0, 1.0)
            remove = np.clip((REMOVE_FROM - z) / (REMOVE_FROM - REMOVE_FULL), 0.0, 1.0)
            self._scaled = (size, keep, remove)
        return self._scaled[1], self._scaled[2]

    def apply(self, alpha: np.ndarray) -> np.ndarray:
        """``alpha`` with the zones laid over it (float32 0–1, any size)."""
        h, w = alpha.shape
        zones = self.overrides((w, h))
        if zones is None:
            return alpha
        keep, remove = zones
        out = alpha + keep * (1.0 - alpha)
        out *= 1.0 - remove
        return out
