"""Register OBS filter types from Python through `obs_register_source_s`.

Why this module looks the way it does:
- libobs copies the function pointers and keeps the `id` pointer for the life of the
  process, so the CFUNCTYPE trampolines, the struct and the string buffers live here, in a
  module that stays in `sys.modules`: an OBS script reload re-runs `jump_obs.py` but never
  frees them. A type is registered once per process; registering it again only swaps the
  Python implementation the trampolines dispatch to.
- An exception escaping a ctypes callback returns garbage to C. Every trampoline catches
  everything, logs it once per (filter type, callback), and returns a safe value: the
  audio packet unchanged, the video passed through, NULL or 0.
- `data` handed to OBS is a small integer key into `_instances`, never a Python pointer.
"""

from __future__ import annotations

import ctypes
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from jump.obs import libobs as L
from jump.obs.data import AudioPacket, Properties, Settings

log = logging.getLogger("jump.obs")


class Filter(Protocol):
    """What a filter instance implements. Optional callbacks may be missing."""

    def update(self, settings: Settings) -> None: ...

    def destroy(self) -> None: ...


@dataclass
class FilterSpec:
    id: str
    name: str
    kind: str  # "audio" or "video"
    factory: Callable[[Settings, Source], Filter]
    defaults: Callable[[Settings], None]
    properties: Callable[[Filter | None], Properties]
    passthrough: Callable[[Settings, Source], Filter]  # used when `factory` fails


class Source:
    """The filter's own obs_source_t* (borrowed; valid until destroy)."""

    def __init__(self, ptr: int) -> None:
        self.ptr = ptr

    @property
    def name(self) -> str:
        raw = L.fn().obs_source_get_name(self.ptr)
        return raw.decode("utf-8", "replace") if raw else "?"

    def target(self) -> int | None:
        return L.fn().obs_filter_get_target(self.ptr) or None

    def parent(self) -> int | None:
        return L.fn().obs_filter_get_parent(self.ptr) or None

    def skip_video_filter(self) -> None:
        L.fn().obs_source_skip_video_filter(self.ptr)


@dataclass
class _Registered:
    spec: FilterSpec
    info: L.obs_source_info
    keep: list[Any]  # buffers and trampolines that must outlive every source


_types: dict[str, _Registered] = {}
_instances: dict[int, tuple[str, Filter, Source]] = {}
_keys = itertools.count(1)
_lock = threading.Lock()
_reported: set[tuple[str, str, str]] = set()


def _report(type_id: str, callback: str, exc: BaseException) -> None:
    key = (type_id, callback, type(exc).__name__)
    if key not in _reported:
        _reported.add(key)
        # A missing package is explained once by jump_obs.py; a traceback adds nothing.
        trace = None if isinstance(exc, ImportError) else exc
        log.error(
            "%s.%s failed (%s: %s); passing media through",
            type_id,
            callback,
            type(exc).__name__,
            exc,
            exc_info=trace,
        )


def _lookup(data: int) -> tuple[str, Filter, Source] | None:
    return _instances.get(data or 0)


def _render(inst: Filter) -> None:
    inst.video_render()


def _make_info(type_id: str, spec: FilterSpec, keep: list[Any]) -> L.obs_source_info:
    name_buf = ctypes.create_string_buffer(spec.name.encode("utf-8"))
    id_bytes = type_id.encode("utf-8")
    keep += [name_buf, id_bytes]

    def current() -> FilterSpec:
        return _types[type_id].spec

    def get_name(_type_data: int) -> int:
        return ctypes.addressof(name_buf)

    def guarded(
        callback: str,
        data: int,
        call: Callable[[Filter], None],
        on_error: Callable[[Source], None] | None = None,
    ) -> None:
        """``call(instance)`` for the filter behind ``data``; on an exception, report it
        and run ``on_error(source)``."""
        entry = _lookup(data)
        if entry is None:
            return
        try:
            call(entry[1])
        except Exception as exc:
            _report(type_id, callback, exc)
            if on_error is not None:
                on_error(entry[2])

    def create(settings: int, source: int) -> int | None:
        src = Source(source)
        spec_now = current()
        try:
            inst = spec_now.factory(Settings(settings), src)
        except Exception as exc:
            _report(type_id, "create", exc)
            try:
                inst = spec_now.passthrough(Settings(settings), src)
            except Exception as exc2:
                _report(type_id, "create(passthrough)", exc2)
                return None
        with _lock:
            key = next(_keys)
            _instances[key] = (type_id, inst, src)
        return key

    def destroy(data: int) -> None:
        with _lock:
            entry = _instances.pop(data or 0, None)
        if entry is None:
            return
        try:
            entry[1].destroy()
        except Exception as exc:
            _report(type_id, "destroy", exc)

    def get_defaults(settings: int) -> None:
        try:
            current().defaults(Settings(settings))
        except Exception as exc:
            _report(type_id, "get_defaults", exc)

    def get_properties(data: int) -> int | None:
        entry = _lookup(data)
        try:
            return current().properties(entry[1] if entry else None).ptr
        except Exception as exc:
            _report(type_id, "get_properties", exc)
            return L.fn().obs_properties_create()

    def update(data: int, settings: int) -> None:
        guarded("update", data, lambda inst: inst.update(Settings(settings)))

    cbs: dict[str, Any] = {
        "get_name": L.GET_NAME(get_name),
        "create": L.CREATE(create),
        "destroy": L.DESTROY(destroy),
        "get_defaults": L.GET_DEFAULTS(get_defaults),
        "get_properties": L.GET_PROPERTIES(get_properties),
        "update": L.UPDATE(update),
    }

    if spec.kind == "audio":
        flags = L.OBS_SOURCE_AUDIO

        def filter_audio(data: int, audio: int) -> int:
            entry = _lookup(data)
            if entry is None:
                return audio
            try:
                return entry[1].filter_audio(AudioPacket(audio))
            except Exception as exc:
                _report(type_id, "filter_audio", exc)
                return audio

        cbs["filter_audio"] = L.FILTER_AUDIO(filter_audio)
    else:
        flags = L.OBS_SOURCE_VIDEO | L.OBS_SOURCE_SRGB

        def video_render(data: int, effect: int) -> None:
            guarded("video_render", data, _render, Source.skip_video_filter)

        def video_tick(data: int, seconds: float) -> None:
            guarded("video_tick", data, lambda inst: inst.video_tick(seconds))

        def color_space(data: int, count: int, preferred: Any) -> int:
            entry = _lookup(data)
            try:
                target = entry[2].target() if entry else None
                if target:
                    return L.fn().obs_source_get_color_space(target, count, preferred)
            except Exception as exc:
                _report(type_id, "video_get_color_space", exc)
            return L.GS_CS_SRGB

        cbs["video_render"] = L.VIDEO_RENDER(video_render)
        cbs["video_tick"] = L.VIDEO_TICK(video_tick)
        cbs["video_get_color_space"] = L.VIDEO_GET_COLOR_SPACE(color_space)

    info = L.obs_source_info()
    info.id = id_bytes
    info.type = L.OBS_SOURCE_TYPE_FILTER
    info.output_flags = flags
    for field, cb in cbs.items():
        setattr(info, field, cb)
    keep += list(cbs.values())
    return info


MIN_OBS = (28, 0, 0)


def register_filter(spec: FilterSpec) -> bool:
    """Register `spec` with libobs once per process; later calls swap the implementation."""
    existing = _types.get(spec.id)
    if existing is not None:
        existing.spec = spec
        return True
    if L.version() < MIN_OBS:
        log.error("OBS %s is too old for Jump (needs 28.0 or newer)", L.version())
        return False
    keep: list[Any] = []
    _types[spec.id] = reg = _Registered(spec=spec, info=L.obs_source_info(), keep=keep)
    reg.info = _make_info(spec.id, spec, keep)
    L.fn().obs_register_source_s(ctypes.byref(reg.info), ctypes.sizeof(L.obs_source_info))
    log.info("registered filter %r (%s)", spec.name, spec.id)
    return True


def instance_for(data: int) -> Filter | None:
    """The live filter instance behind OBS's ``data`` pointer (property buttons), or None."""
    entry = _lookup(data)
    return entry[1] if entry else None


def instances(type_id: str) -> list[Filter]:
    """Live instances of a type (tests and diagnostics)."""
    with _lock:
        return [inst for tid, inst, _ in _instances.values() if tid == type_id]
