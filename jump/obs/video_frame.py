"""An async source's frame in ``filter_video``: its planes copied out, nothing converted.

OBS calls a filter's ``filter_video`` on the graphics thread, in the video tick, holding
the source's async mutex, with the frame that tick selected for drawing (obs-source.c,
``async_tick`` → ``filter_frame``). So the only work done here is one ``memmove`` per plane
(rows × linesize: the padding comes along, the reader slices it off) into a buffer from a
small pool that is reused frame after frame; the conversion to BGRA at the work size runs
on the matte worker's thread (``jump.matte.yuv``).

The buffers' owner is the worker once submitted: ``FrameCopy.release`` hands one back to
its pool (the worker calls it after converting, or when a newer frame replaces it in the
slot). Three are enough for "one in the slot, one being converted, one being written";
when none is free the frame is not copied (the worker is behind anyway).
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

from jump.obs import libobs as L

# enum video_format (media-io/video-io.h, OBS 29) -> (name, per plane: (rows as a divisor
# of the height, bytes per sample, samples as a divisor of the width)), for the formats
# Jump converts; any other (P010, I010, I40A, …) is not in it.
_Y, _C2, _C2V = (1, 1, 1), (2, 1, 2), (1, 1, 2)  # full plane, 4:2:0 and 4:2:2 chroma
FORMATS: dict[int, tuple[str, tuple[tuple[int, int, int], ...]]] = {
    1: ("I420", (_Y, _C2, _C2)),
    2: ("NV12", (_Y, (2, 2, 2))),
    3: ("YVYU", ((1, 4, 2),)),
    4: ("YUY2", ((1, 4, 2),)),
    5: ("UYVY", ((1, 4, 2),)),
    6: ("RGBA", ((1, 4, 1),)),
    7: ("BGRA", ((1, 4, 1),)),
    8: ("BGRX", ((1, 4, 1),)),
    9: ("Y800", (_Y,)),
    10: ("I444", (_Y, _Y, _Y)),
    12: ("I422", (_Y, _C2V, _C2V)),
}


class FrameCopy:
    """A frame's planes in CPU memory (each ``rows × linesize`` uint8, padding included)
    and what converting them needs: the ``jump.matte.yuv.PlaneFrame`` protocol."""

    def __init__(self, pool: FramePool | None = None) -> None:
        import numpy as np

        self._pool = pool
        self._buf = np.empty(0, np.uint8)
        self.planes: list[Any] = []
        self.format = ""
        self.width = self.height = 0
        self.timestamp = 0
        self.color_matrix = np.eye(4, dtype=np.float32)
        self.full_range = False
        self.flip = False

    def fill(self, frame: L.obs_source_frame, name: str, layout: tuple) -> None:
        """Copy ``frame``'s planes (one memmove each) into this object's buffer. Raises
        ValueError for a plane missing or narrower than the format's row."""
        import numpy as np

        w, h = int(frame.width), int(frame.height)
        shapes = [(-(-h // rows), int(frame.linesize[i])) for i, (rows, _, _) in enumerate(layout)]
        for i, (_, size, cols) in enumerate(layout):
            if shapes[i][1] < size * -(-w // cols):
                raise ValueError(f"{name} plane {i}: linesize {shapes[i][1]} for width {w}")
        total = sum(r * s for r, s in shapes)
        if self._buf.size < total:  # grows to the largest frame seen, then stays
            self._buf = np.empty(total, np.uint8)
        planes, offset = [], 0
        for i, (rows, stride) in enumerate(shapes):
            src = frame.data[i]
            if not src or stride <= 0:
                raise ValueError(f"{name} frame without plane {i}")
            ctypes.memmove(self._buf.ctypes.data + offset, src, rows * stride)
            planes.append(self._buf[offset : offset + rows * stride].reshape(rows, stride))
            offset += rows * stride
        self.planes = planes
        self.format, self.width, self.height = name, w, h
        self.timestamp = int(frame.timestamp)
        self.color_matrix[:] = np.ctypeslib.as_array(frame.color_matrix).reshape(4, 4)
        self.full_range, self.flip = bool(frame.full_range), bool(frame.flip)

    def release(self) -> None:
        """Back to the pool (called by the worker; harmless twice)."""
        if self._pool is not None:
            self._pool.give_back(self)


class FramePool:
    """A few reusable ``FrameCopy`` buffers, taken on the graphics thread and given back
    from the worker's."""

    def __init__(self, count: int = 3) -> None:
        self._lock = threading.Lock()
        self._free = [FrameCopy(self) for _ in range(count)]
        self._all = list(self._free)

    def take(self) -> FrameCopy | None:
        with self._lock:
            return self._free.pop() if self._free else None

    def give_back(self, copy: FrameCopy) -> None:
        with self._lock:
            if copy in self._all and all(c is not copy for c in self._free):
                self._free.append(copy)

    @property
    def free(self) -> int:
        return len(self._free)


class AsyncFrame:
    """The ``obs_source_frame*`` handed to ``filter_video``: valid during the call only."""

    __slots__ = ("_frame", "ptr")

    def __init__(self, ptr: int) -> None:
        self.ptr = ptr
        self._frame = L.obs_source_frame.from_address(ptr)

    @property
    def format(self) -> int:
        """The frame's ``enum video_format``."""
        return int(self._frame.format)

    @property
    def format_name(self) -> str | None:
        """The format's name ("I420", "NV12"…); None where Jump does not convert it."""
        known = FORMATS.get(self.format)
        return known[0] if known else None

    @property
    def size(self) -> tuple[int, int]:
        return int(self._frame.width), int(self._frame.height)

    def copy(self, pool: FramePool) -> FrameCopy | None:
        """The planes copied into a pooled buffer; None when the pool has none free (or
        the frame is empty).
        Raises ValueError for a format Jump does not convert or a frame without data."""
        known = FORMATS.get(self.format)
        if known is None:
            raise ValueError(f"video format {self.format} is not converted")
        if not self._frame.width or not self._frame.height:
            return None  # nothing to mask
        copy = pool.take()
        if copy is None:
            return None
        try:
            copy.fill(self._frame, *known)
        except BaseException:
            copy.release()
            raise
        return copy
