"""jump.obs.heap: threads started after ``limit_arenas`` share at most two malloc arenas."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Eight threads each allocate while the others hold their chunks (so none can reuse a
# locked arena), then glibc's malloc_info says how many arenas ("<heap nr=") exist.
PROGRAM = r"""
import ctypes, os, sys, tempfile, threading
from jump.obs import heap
print("limit", heap.limit_arenas())
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
barrier = threading.Barrier(8)
def work():
    p = libc.malloc(4096)
    barrier.wait()
    libc.free(p)
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
path = os.path.join(tempfile.mkdtemp(), "info.xml")
fp = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, fp)
libc.fclose(fp)
print("arenas", open(path).read().count("<heap nr="))
"""


def _arenas(setting: str) -> tuple[str, int]:
    env = {**os.environ, "JUMP_MALLOC_ARENAS": setting, "PYTHONPATH": str(ROOT)}
    env.pop("MALLOC_ARENA_MAX", None)
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    return lines["limit"], int(lines["arenas"])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc arenas")
def test_threads_share_two_arenas_after_the_limit():
    limit, arenas = _arenas("2")
    assert limit == "2"
    assert arenas <= 2
    # the same program without the limit: each busy thread takes an arena of its own
    limit, arenas = _arenas("0")
    assert limit == "None"
    assert arenas > 2
