"""Lower the calling thread's CPU priority on Linux, Windows and macOS.

The matte worker calls this first, so that a saturated CPU delays masks rather than
OBS's render, encoder and audio threads (docs/benchmarks.md, "Streaming": 67 % vs 40 %
skipped renders at normal vs lowered priority, Linux). What each system does with the
threads ONNX Runtime starts for a session (intra-op pool, created by the worker when it
builds the session; with ``threads=1`` there is none and all inference runs on the worker):

- Linux: ``setpriority(PRIO_PROCESS, tid, 10)``; a thread's nice value is per task and
  threads it creates inherit it, so ORT's pool is lowered too.
- Windows: ``SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_BELOW_NORMAL)``. New
  Windows threads always start at THREAD_PRIORITY_NORMAL (CreateThread's documented
  behaviour), so ORT's pool threads are *not* lowered: with more than one thread, part of
  the inference competes with OBS at normal priority.
- macOS: ``pthread_set_qos_class_self_np(QOS_CLASS_UTILITY)`` (``setpriority`` there is per
  process, and lowering OBS itself would be wrong). Whether ORT's pool threads, created
  after this, run at utility QoS too was not checked on a Mac.

Never raises: a refusal leaves the thread as it was and returns False.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading

NICE = 10  # Linux
THREAD_PRIORITY_BELOW_NORMAL = -1  # Windows, winbase.h
QOS_CLASS_UTILITY = 0x11  # macOS, sys/qos.h


def lower_current_thread(nice: int = NICE, platform: str | None = None) -> bool:
    """Lower this thread's priority as described above; True when the system accepted it."""
    platform = sys.platform if platform is None else platform
    with contextlib.suppress(OSError, AttributeError, ValueError):
        if platform.startswith("linux"):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
            return True
        if platform == "win32":
            kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
            kernel32.GetCurrentThread.restype = ctypes.c_void_p
            kernel32.GetCurrentThread.argtypes = []
            kernel32.SetThreadPriority.restype = ctypes.c_int  # BOOL
            kernel32.SetThreadPriority.argtypes = [ctypes.c_void_p, ctypes.c_int]
            handle = kernel32.GetCurrentThread()  # a pseudo-handle: nothing to close
            return bool(kernel32.SetThreadPriority(handle, THREAD_PRIORITY_BELOW_NORMAL))
        if platform == "darwin":
            libc = ctypes.CDLL(None)
            func = libc.pthread_set_qos_class_self_np
            func.restype = ctypes.c_int
            func.argtypes = [ctypes.c_uint, ctypes.c_int]  # qos_class_t (unsigned int), relpri
            return func(QOS_CLASS_UTILITY, 0) == 0
    return False
