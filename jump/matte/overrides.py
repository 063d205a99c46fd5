"""The user's corrections on top of the model's matte, at work size: clean plate, grow/shrink,
keep zones — in that order, so zones have the last word and grow/shrink moves the edge
the plate helped find. Runs on the worker thread, between edge refinement and temporal
smoothing, for every model (segmentation or matting).
"""

from __future__ import annotations

import logging

import numpy as np

from jump.matte import refine
from jump.matte.clean_plate import CleanPlate, PlateRecorder, apply_plate
from jump.matte.settings import REFERENCE_HEIGHT, MatteSettings
from jump.matte.zones import KeepZones

log = logging.getLogger("jump.matte")


class Overrides:
    """Holds the clean plate (and its capture in progress) and the keep-zones picture."""

    def __init__(self) -> None:
        self.plate: CleanPlate | None = None
        self.recorder: PlateRecorder | None = None
        self._zones: KeepZones | None = None
        self._plate_warned: tuple[int, int] | None = None
        self._scaled_plate: CleanPlate | None = None

    def capture(self, frames: int = 45, seconds: float = 3.0) -> None:
        """Record the next frames (up to ``frames`` or ``seconds``) as the empty room."""
        self.recorder = PlateRecorder(frames, seconds)

    @property
    def capturing(self) -> bool:
        return self.recorder is not None

    def set_plate(self, plate: CleanPlate | None) -> None:
        self.plate = plate
        self._plate_warned = None
        self._scaled_plate = None

    def record(self, work: np.ndarray) -> None:
        """Feed a work-size frame to a capture in progress."""
        if self.recorder is None:
            return
        plate = self.recorder.add(work)
        if plate is not None:
            self.recorder = None
            self.set_plate(plate)
            w, h = plate.size
            log.info(
                "Jump Matte: clean plate captured (%d×%d, %d frames, noise σ %.1f levels)",
                w, h, plate.frames, float(np.median(plate.noise)),
            )  # fmt: skip

    def _plate_at(self, size: tuple[int, int]) -> CleanPlate | None:
        """The plate at this work size: as captured, rescaled (a model change moved the
        work size), or None with one warning (another aspect: not the same picture)."""
        plate = self.plate
        if plate is None or plate.size == size:
            return plate
        if self._scaled_plate is not None and self._scaled_plate.size == size:
            return self._scaled_plate
        self._scaled_plate = plate.resized(size)
        if self._scaled_plate is None and self._plate_warned != size:
            self._plate_warned = size
            pw, ph = plate.size
            log.warning(
                "Jump Matte: the clean plate is %d×%d but the picture is %d×%d (another "
                "aspect): plate ignored; capture the empty room again",
                pw, ph, *size,
            )  # fmt: skip
        return self._scaled_plate

    def zones(self, path: str) -> KeepZones | None:
        if not path:
            self._zones = None
        elif self._zones is None or self._zones.path != path:
            self._zones = KeepZones(path)
        return self._zones

    def __call__(self, alpha: np.ndarray, work: np.ndarray, s: MatteSettings) -> np.ndarray:
        """``alpha`` (float32 work size) with the user's corrections applied."""
        self.record(work)
        h, w = alpha.shape
        if s.use_plate and self.plate is not None:
            plate = self._plate_at((w, h))
            if plate is not None:
                alpha = apply_plate(alpha, work, plate, s.plate_tolerance)
        if s.grow_px:
            alpha = refine.grow_shrink(alpha, s.grow_px * h / REFERENCE_HEIGHT)
        zones = self.zones(s.keep_zones)
        if zones is not None:
            alpha = zones.apply(alpha)
        return alpha
