"""Where Jump Matte's worker gets its frames: an async source's own frame, or the GPU's.

- **async** (webcam, media source; deinterlacing off): OBS hands ``filter_video`` the
  frame this video tick selects for drawing, in CPU memory (obs-source.c, ``async_tick``).
  Its planes are copied into a pooled buffer (``jump.obs.video_frame``) and submitted at
  once; the worker converts them (``jump.matte.yuv``). At render i the newest mask is of
  frame i − 1, and nothing is read back from the GPU. Unless "delay video" holds frames,
  the frame itself goes back to OBS a tick later (``jump.obs.frame_hold``): render i draws
  frame i − 1 with its own mask.
- **staged** (any other source, a GPU filter below this one, a format the worker does
  not convert, or a copy that failed): the filter's work-size capture is staged into a ring of two stage surfaces and
  last render's copy is read back: at render i the newest mask is of frame i − 2.

Glue only: the filter numbers the frames and owns the worker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from jump.obs import graphics as G
from jump.obs.source import Source

# a filter not rendered for this long is not shown anywhere: its frames are not masked
SHOWN_S = 0.5


def mask_for(masks: Sequence[tuple[int, Any]], frame_id: int) -> tuple[int, Any]:
    """Of the filter's newest masks (frame id, alpha), the mask of ``frame_id`` if held,
    else the newest before it (the worker skipped the frame or is not done), else the
    oldest."""
    earlier = [m for m in masks if m[0] <= frame_id]
    return earlier[-1] if earlier else masks[0]


class FrameFeed:
    """The matte filter's frame source, switched per render (``path``)."""

    def __init__(self, log: logging.Logger, prefix: Callable[[], str]) -> None:
        self.log, self.prefix = log, prefix
        self.frames_from = "staged"
        self.ring = G.StageRing(2)
        self.pool: Any = None  # jump.obs.video_frame.FramePool, made on first use
        self.async_format: int | None = None  # the last async frame's video_format
        self.failed = False  # a copy raised: staging from then on (logged once)
        # moving average of filter_video's copy (graphics thread, outside video_render)
        self.copy_ms = 0.0
        self.copies = 0
        self.last_render = -1e9  # time.monotonic() of the last render that captured
        # the async frame OBS draws next: a held frame is drawn a tick after filter_video
        self.holding = False
        self.kept_id = self.shown_id = -1

    def hand_back(self, frame_id: int, hold: bool) -> bool:
        """filter_video's answer for frame ``frame_id``: ``hold`` it a tick (OBS then draws
        the one kept at the tick before, ``jump.obs.frame_hold``), or hand it back now."""
        self.holding = hold
        if hold:
            self.shown_id, self.kept_id = self.kept_id, frame_id
        else:
            self.shown_id, self.kept_id = frame_id, -1
        return hold

    def drawn_id(self, frame_id: int) -> int:
        """The id of the frame this render draws (``frame_id``: the newest numbered)."""
        return self.shown_id if self.holding else frame_id

    def held_ns(self, fps: float) -> int:
        """How late the picture is drawn (for the sound's delay, ``jump.filters.av_sync``)."""
        return round(1e9 / fps) if self.holding else 0

    def wants_async(self, source: Source) -> bool:
        """Whether the filter on ``source`` takes its parent's frames from filter_video."""
        return not self.failed and source.sees_parent_frames()

    def take(self, frame: Any, worker: Any, frame_id: int) -> bool:
        """Copy an async frame (``jump.obs.video_frame.AsyncFrame``) for the worker as
        ``frame_id``; False if it is not one the worker takes (the filter stages then).
        OBS ticks an async source (and calls filter_video) even where nothing draws it:
        a frame is counted then but not copied, so a hidden webcam costs no inference."""
        from jump.obs.video_frame import FramePool

        self.async_format = frame.format
        if frame.format_name is None:
            return False
        if time.monotonic() - self.last_render > SHOWN_S:
            return True
        if self.pool is None:
            self.pool = FramePool(3)
        start = time.perf_counter()
        try:
            copy = frame.copy(self.pool)
        except Exception as exc:
            self.failed = True
            self.log.error("%s async frames fail (%s); staging instead", self.prefix(), exc)
            return False
        self.copies += 1
        elapsed = (time.perf_counter() - start) * 1e3
        self.copy_ms += (elapsed - self.copy_ms) / min(self.copies, 100)
        if copy is not None:  # None: every buffer is with the worker, which is behind
            worker.submit(copy, frame_id)
        return True

    def path(self, source: Source, worker: Any, lead: Callable[[], int]) -> str:
        """This render's path, "async" or "staged". On a change the stage ring starts empty,
        the worker forgets its state and its carried matte leads by the new ``lead()``."""
        from jump.obs.video_frame import FORMATS

        self.last_render = time.monotonic()
        usable = self.async_format is None or self.async_format in FORMATS
        path = "async" if usable and self.wants_async(source) else "staged"
        changed = path != self.frames_from
        if changed:
            if not usable:
                self.log.info(
                    "%s video format %d is not converted on the CPU: the GPU capture "
                    "is read back instead",
                    self.prefix(),
                    self.async_format,
                )
            self.frames_from = path
            self.ring.destroy()
            worker.reset()
            worker.set_display_lead(lead())
        return path

    def stage(self, texture: int, work: tuple[int, int], frame_id: int, worker: Any) -> None:
        """Stage this render's capture; hand the worker last render's."""
        self.ring.stage(texture, *work, frame_id)
        last = self.ring.read_oldest()
        if last is not None:
            worker.submit(*last)

    def destroy(self) -> None:
        self.ring.destroy()
