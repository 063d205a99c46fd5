"""Another source's audio as a reference: OBS's audio capture callback into a ring buffer.

``obs_source_add_audio_capture_callback`` calls us on the *reference* source's audio
thread with planar float audio at OBS's rate and channel count (after that source's
filters, before its volume) and a ``muted`` flag. The callback only downmixes and copies
into a ring keyed on OBS timestamps, under a lock held for a copy: it never blocks that
thread. The mic filter reads the span of its own packet
30 ms earlier (``LEAD_NS``): the reference packet for the same instant is often not in yet
(it comes on its own thread, a packet at a time), and a reference fed 30 ms late only
shortens the delay the canceller sees (speaker and mic latency are 40 ms and more), zeros
where nothing was captured.

We hold only a weak reference to the source: deleting it in OBS destroys it (and its
callbacks) as usual, and ``expired`` tells the filter it is gone.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from ctypes import CFUNCTYPE, POINTER, c_bool, c_char_p, c_void_p
from typing import TYPE_CHECKING, Any

from jump.obs import libobs as L

if TYPE_CHECKING:
    from jump.obs.source import Source

log = logging.getLogger("jump.obs")

P = c_void_p
# void (*)(void *param, obs_source_t *source, const struct audio_data *data, bool muted);
# struct audio_data has obs_audio_data's layout (data[8], frames, timestamp).
AUDIO_CAPTURE = CFUNCTYPE(None, P, P, POINTER(L.obs_audio_data), c_bool)
ENUM_PROC = CFUNCTYPE(c_bool, P, P)
SIGNAL = CFUNCTYPE(None, P, P)  # void (*)(void *data, calldata_t *cd)
RING_S = 2.0
LEAD_NS = 30_000_000  # feed the reference 30 ms late: its packet for a mic packet's time may not be here yet
GAP_NS = 1_000_000_000  # a timestamp jump larger than this restarts the ring

_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "obs_source_add_audio_capture_callback": (None, [P, AUDIO_CAPTURE, P]),
    "obs_source_remove_audio_capture_callback": (None, [P, AUDIO_CAPTURE, P]),
    "obs_get_source_by_name": (P, [c_char_p]),
    "obs_source_release": (None, [P]),
    "obs_source_get_weak_source": (P, [P]),
    "obs_weak_source_get_source": (P, [P]),
    "obs_weak_source_release": (None, [P]),
    "obs_weak_source_expired": (c_bool, [P]),
    "obs_enum_sources": (None, [ENUM_PROC, P]),
    "obs_source_get_name": (c_char_p, [P]),
    "obs_source_get_output_flags": (ctypes.c_uint32, [P]),
    "obs_source_get_signal_handler": (P, [P]),
    "signal_handler_connect": (None, [P, c_char_p, SIGNAL, P]),
    "signal_handler_disconnect": (None, [P, c_char_p, SIGNAL, P]),
}
_fns: dict[str, Any] = {}


def _f(name: str) -> Any:
    if not _fns:
        lib = L.fn().lib
        for key, (restype, argtypes) in _SIGNATURES.items():
            func = getattr(lib, key, None)
            if func is not None:
                func.restype, func.argtypes = restype, argtypes
            _fns[key] = func
    return _fns[name]


def audio_source_names() -> list[str]:
    """Names of OBS's inputs that carry audio (Desktop Audio, media, game capture...)."""
    names: list[str] = []

    def visit(_param: int, source: int) -> bool:
        try:
            if _f("obs_source_get_output_flags")(source) & L.OBS_SOURCE_AUDIO:
                raw = _f("obs_source_get_name")(source)
                if raw:
                    names.append(raw.decode("utf-8", "replace"))
        except Exception:
            pass
        return True

    proc = ENUM_PROC(visit)
    _f("obs_enum_sources")(proc, None)
    return sorted(set(names), key=str.lower)


class ReferenceRing:
    """Mono reference samples by OBS timestamp; written by one thread, read by another."""

    def __init__(self, sample_rate: int) -> None:
        import numpy as np

        self.rate = int(sample_rate)
        self._buf = np.zeros(int(RING_S * self.rate), dtype=np.float32)
        self._lock = threading.Lock()
        self._t0: int | None = None  # timestamp of absolute sample 0
        self._end = 0  # absolute index one past the newest sample written

    def _pos(self, ts: int) -> int:
        return round((ts - self._t0) * self.rate / 1e9)

    def write(self, ts: int, mono: Any) -> None:
        n = mono.size
        size = self._buf.size
        with self._lock:
            if self._t0 is None or abs(ts - self._t0 - self._end * 1e9 / self.rate) > GAP_NS:
                self._t0, self._end = ts, 0
                self._buf[:] = 0.0
            start = self._pos(ts)
            if start > self._end:  # the source paused: silence there, not stale samples
                self._put(self._end, min(start - self._end, size), None)
            self._put(start, n, mono[-size:] if n > size else mono)
            self._end = max(self._end, start + n)

    def _put(self, start: int, n: int, data: Any) -> None:
        size = self._buf.size
        i = start % size
        first = min(n, size - i)
        if data is None:
            self._buf[i : i + first] = 0.0
            self._buf[: n - first] = 0.0
        else:
            self._buf[i : i + first] = data[:first]
            self._buf[: n - first] = data[first:n]

    def ahead_ms(self, ts: int) -> float:
        """How far the newest reference sample is ahead of ``ts`` (diagnostics)."""
        with self._lock:
            if self._t0 is None:
                return float("nan")
            return (self._t0 + self._end * 1e9 / self.rate - ts) / 1e6

    def read(self, ts: int, n: int) -> Any:
        """``n`` samples from ``ts - LEAD_NS``; zeros where nothing (or nothing yet) was written."""
        import numpy as np

        out = np.zeros(n, dtype=np.float32)
        with self._lock:
            if self._t0 is None:
                return out
            start = self._pos(ts - LEAD_NS)
            size = self._buf.size
            lo, hi = max(start, self._end - size), min(start + n, self._end)
            if hi > lo:
                out[lo - start : hi - start] = self._buf[np.arange(lo, hi) % size]
        return out


class AudioCapture:
    """A weak hold on one source and a capture callback into a ``ReferenceRing``."""

    def __init__(
        self, name: str, sample_rate: int, channels: int, own_parent: Source | None
    ) -> None:
        self.name = name
        self.channels = int(channels)
        self.ring = ReferenceRing(sample_rate)
        self._weak: int | None = None
        self.ptr = 0  # the source's address, to tell it from the filter's own parent
        self._cb = AUDIO_CAPTURE(self._on_audio)  # kept alive as long as we are attached
        self._on_remove = SIGNAL(self._removed)
        self._on_rename = SIGNAL(self._renamed)
        self.removed = False  # set by the source's "remove" signal (deleted in OBS)
        self.error = ""
        src = _f("obs_get_source_by_name")(name.encode("utf-8"))
        if not src:
            self.error = f"no source named '{name}'"
            return
        try:
            if own_parent is not None and src == own_parent.ptr:
                self.error = (
                    f"'{name}' is the mic this filter is on; it cannot be its own reference"
                )
                return
            self.ptr = int(src)
            _f("obs_source_add_audio_capture_callback")(src, self._cb, None)
            handler = _f("obs_source_get_signal_handler")(src)
            if handler:
                _f("signal_handler_connect")(handler, b"remove", self._on_remove, None)
                _f("signal_handler_connect")(handler, b"rename", self._on_rename, None)
            self._weak = _f("obs_source_get_weak_source")(src)
        finally:
            _f("obs_source_release")(src)

    def is_source(self, source: Source | None) -> bool:
        """Whether ``source`` is the one this captures (e.g. the filter's own parent)."""
        return source is not None and bool(self.ptr) and source.ptr == self.ptr

    @property
    def attached(self) -> bool:
        return self._weak is not None

    def expired(self) -> bool:
        """True once the source was deleted in OBS (removed, or already destroyed)."""
        if self._weak is None:
            return False
        return self.removed or bool(_f("obs_weak_source_expired")(self._weak))

    def _removed(self, _data: int, _calldata: int) -> None:
        self.removed = True

    def _renamed(self, _data: int, _calldata: int) -> None:
        # libobs sets the new name before it signals; the source is alive while it does
        try:
            raw = _f("obs_source_get_name")(self.ptr)
            if raw:
                self.name = raw.decode("utf-8", "replace")
        except Exception:  # never raise into libobs
            pass

    def _on_audio(self, _param: int, _source: int, data: Any, muted: bool) -> None:
        try:
            import numpy as np

            raw = data.contents
            n = int(raw.frames)
            if n == 0:
                return
            if muted:  # the speakers do not play a muted source: no echo to cancel
                self.ring.write(int(raw.timestamp), np.zeros(n, dtype=np.float32))
                return
            acc = np.zeros(n, dtype=np.float32)
            used = 0
            for i in range(self.channels):
                plane = raw.data[i]
                if not plane:
                    break
                acc += np.ctypeslib.as_array(ctypes.cast(plane, POINTER(ctypes.c_float)), (n,))
                used += 1
            if used:
                acc *= 1.0 / used
            self.ring.write(int(raw.timestamp), acc)
        except Exception:  # never raise into libobs's audio thread
            pass

    def close(self) -> None:
        """Detach (call from the UI thread: may drop the last reference to the source)."""
        weak, self._weak = self._weak, None
        if weak is None:
            return
        src = _f("obs_weak_source_get_source")(weak)
        if src:
            _f("obs_source_remove_audio_capture_callback")(src, self._cb, None)
            handler = _f("obs_source_get_signal_handler")(src)
            if handler:
                _f("signal_handler_disconnect")(handler, b"remove", self._on_remove, None)
                _f("signal_handler_disconnect")(handler, b"rename", self._on_rename, None)
            _f("obs_source_release")(src)
        _f("obs_weak_source_release")(weak)
