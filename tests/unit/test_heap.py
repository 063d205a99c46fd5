"""jump.heap: glibc's free heap pages go back to the system (the soak's memory growth)."""

from __future__ import annotations

import ctypes
import sys

import pytest

from jump import heap


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_trim_returns_freed_heap_pages() -> None:
    trim = heap.malloc_trim()
    assert trim is not None
    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    # 2 000 blocks of 64 KiB (under the mmap threshold: on the heap), each touched; all but
    # the last freed, so the heap's top cannot shrink and only a trim gives pages back
    blocks = [libc.malloc(65536) for _ in range(2000)]
    for b in blocks:
        ctypes.memset(b, 1, 65536)
    for b in blocks[:-1]:
        libc.free(b)
    before = _rss_mb()
    trim(0)
    after = _rss_mb()
    libc.free(blocks[-1])
    assert before - after > 60, (before, after)  # ~125 MB were free inside the heap


def test_trimmer_trims_at_most_once_per_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(heap, "malloc_trim", lambda: calls.append)
    clock = iter([0.0, 10.0, 61.0, 62.0, 130.0])
    monkeypatch.setattr(heap.time, "monotonic", lambda: next(clock))
    t = heap.HeapTrimmer(every_s=60.0)  # starts its interval at 0
    assert [t.maybe_trim() for _ in range(4)] == [False, True, False, True]
    assert calls == [0, 0] and t.trims == 2


def test_no_trim_where_there_is_no_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap.sys, "platform", "win32")
    assert heap.malloc_trim() is None
    assert heap.HeapTrimmer(every_s=0.0).maybe_trim() is False
