"""OBS's C heap on Linux: at most two glibc malloc arenas, so a long stream does not grow.

glibc gives threads their own malloc arenas (up to 8 per core) and memory freed in one
arena serves only the threads attached to it. OBS with Jump runs many threads that
allocate (render, audio, encoder, the matte worker, ONNX Runtime's pools), so each arena
grows to its own peak and the process's heap creeps up for ~20 minutes: +20.2 MB in the
30-minute soak, all of it held free by malloc (glibc's ``mallinfo2``: heap in use flat,
free space growing), none of it Python objects. With two arenas the same free space is
reused by every thread, and the growth after the first minute was gone (docs/benchmarks.md,
"Soak memory: where it went"). ``malloc_trim`` cannot give it back: the free space is
scattered between live chunks.

Arenas are chosen when a thread first allocates, so this limits the threads started
after Jump loads (the worker, ONNX Runtime's pools, new OBS threads); threads already
running keep theirs. ``JUMP_MALLOC_ARENAS`` overrides the limit; 0 leaves glibc's default.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys

log = logging.getLogger("jump")

ENV = "JUMP_MALLOC_ARENAS"
DEFAULT_ARENAS = 2
M_ARENA_MAX = -8  # glibc's malloc.h


def limit_arenas() -> int | None:
    """Cap glibc's malloc arenas for threads started from now on; the cap set, or None
    where nothing was done (not Linux/glibc, turned off, mallopt refused)."""
    if not sys.platform.startswith("linux"):
        return None
    raw = os.environ.get(ENV, str(DEFAULT_ARENAS)).strip()
    try:
        arenas = int(raw)
    except ValueError:
        log.warning("%s=%r is not a number; malloc arenas left as they are", ENV, raw)
        return None
    if arenas <= 0:
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 (glibc only: musl's mallopt ignores this)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    mallopt.restype, mallopt.argtypes = ctypes.c_int, [ctypes.c_int, ctypes.c_int]
    if mallopt(M_ARENA_MAX, arenas) != 1:
        return None
    log.info("malloc arenas limited to %d for a flat heap over long streams (%s)", arenas, ENV)
    return arenas
