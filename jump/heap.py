"""Give glibc's free heap pages back to the system now and then (Linux only).

A long stream's memory grows in OBS's per-thread malloc arenas: free space glibc keeps
after the frames and tensors that passed through it, not memory in use (docs/benchmarks.md,
"Soak memory"). ``MALLOC_ARENA_MAX=2`` in OBS's environment caps it, but a plugin cannot
set that in time; ``malloc_trim(0)`` returns the free pages of every arena, from any
thread. The matte worker calls ``HeapTrimmer.maybe_trim`` after each mask: at most once a
minute, a few milliseconds on the worker's own thread. Elsewhere (Windows, macOS, musl)
there is no such call and this does nothing.
"""

from __future__ import annotations

import ctypes
import sys
import time
from collections.abc import Callable

TRIM_EVERY_S = 60.0


def malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim`` in this process, or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # a libc without it (musl)
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


class HeapTrimmer:
    """Calls ``malloc_trim(0)`` at most every ``every_s`` seconds."""

    def __init__(self, every_s: float = TRIM_EVERY_S) -> None:
        self._trim = malloc_trim()
        self._every = every_s
        self._last = time.monotonic()
        self.trims = 0

    def maybe_trim(self) -> bool:
        """Trim if the interval has passed; True when it did."""
        now = time.monotonic()
        if self._trim is None or now - self._last < self._every:
            return False
        self._last = now
        self._trim(0)
        self.trims += 1
        return True
