"""Register OBS filter types from Python through `obs_register_source_s`.

A filter file ends with its ``FilterSpec``: like the ``obs_source_info`` literal at the end
of OBS's own filters, it names every callback the filter implements. This module turns
that table into an ``obs_source_info`` with one trampoline per named callback.

Why this module looks the way it does:
- libobs copies the function pointers and keeps the `id` pointer for the life of the
  process, so the CFUNCTYPE trampolines, the struct and the string buffers live here, in a
  module that stays in `sys.modules`: an OBS script reload re-runs `jump_obs.py` but never
  frees them. A type is registered once per process; registering it again only swaps the
  Python implementation the trampolines dispatch to.
- An exception escaping a ctypes callback returns garbage to C. Every trampoline goes
  through ``_safely``: it catches everything, logs it once per (filter type, callback,
  exception type), and returns a safe value: the audio packet unchanged, the video passed
  through, NULL or 0.
- `data` handed to OBS is a small integer key into ``jump.obs.instances``, never a Python
  pointer. Instance callbacks are looked up on the instance by name at each call, so a
  pass-through instance answers with its own methods of the same names.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from jump.obs import frame_hold, instances
from jump.obs import libobs as L
from jump.obs.data import AudioPacket, Properties, Settings
from jump.obs.source import Source

__all__ = ["AUDIO_FILTER", "VIDEO_FILTER", "FilterSpec", "Source", "register_filter"]

log = logging.getLogger("jump.obs")

AUDIO_FILTER = L.OBS_SOURCE_AUDIO
# colour and picture backgrounds are mixed in linear space, so OBS hands us linear sRGB
VIDEO_FILTER = L.OBS_SOURCE_VIDEO | L.OBS_SOURCE_SRGB


class Filter(Protocol):
    """What every filter instance implements; the spec names its other callbacks."""

    def update(self, settings: Settings) -> None: ...

    def destroy(self) -> None: ...


@dataclass
class FilterSpec:
    """A filter type, field by field as OBS's ``obs_source_info`` names them.

    Type callbacks are plain functions; instance callbacks name the filter class's method
    of the same name (``update=MatteFilter.update``), None when not implemented.
    """

    id: str
    name: str  # get_name
    output_flags: int  # AUDIO_FILTER or VIDEO_FILTER
    create: Callable[[Settings, Source], Filter]
    create_passthrough: Callable[[Settings, Source], Filter]  # when `create` fails
    get_defaults: Callable[[Settings], None]
    get_properties: Callable[[Filter | None], Properties]
    update: Callable[..., None]
    destroy: Callable[..., None]
    filter_audio: Callable[..., AudioPacket] | None = None
    # an async source's frame at the video tick (``jump.obs.video_frame.AsyncFrame``); the
    # method returns True to have OBS draw it a tick later (``jump.obs.frame_hold``)
    filter_video: Callable[..., bool] | None = None
    video_tick: Callable[..., None] | None = None
    video_render: Callable[..., None] | None = None
    video_get_color_space: Callable[..., int] | None = None
    save: Callable[..., None] | None = None  # before OBS writes the settings to disk


def _skip_video(source: Source | None, _effect: int) -> None:
    if source is not None:
        source.skip_video_filter()


# Instance callbacks: C prototype, C arguments -> Python arguments, Python result -> C
# result, and what C gets when the instance is gone or raised: (source or None, *C args).
_INSTANCE_CALLS: dict[str, tuple[Any, Callable[..., tuple], Callable[[Any], Any], Callable]] = {
    "update": (L.UPDATE, lambda settings: (Settings(settings),), lambda r: None, lambda s, _: None),
    "save": (L.UPDATE, lambda settings: (Settings(settings),), lambda r: None, lambda s, _: None),
    "destroy": (L.DESTROY, lambda: (), lambda r: None, lambda s: None),
    "filter_audio": (
        L.FILTER_AUDIO,
        lambda audio: (AudioPacket(audio),),
        lambda packet: packet.ptr,
        lambda s, audio: audio,  # the packet unchanged: audio is never lost
    ),
    "video_tick": (L.VIDEO_TICK, lambda seconds: (seconds,), lambda r: None, lambda s, _: None),
    "video_render": (L.VIDEO_RENDER, lambda _effect: (), lambda r: None, _skip_video),
    "video_get_color_space": (
        L.VIDEO_GET_COLOR_SPACE,
        lambda count, preferred: (tuple(preferred[i] for i in range(count)),),
        int,
        lambda s, *_: L.GS_CS_SRGB,
    ),
}


@dataclass
class _Registered:
    spec: FilterSpec
    info: L.obs_source_info
    keep: list[Any]  # buffers and trampolines that must outlive every source


_types: dict[str, _Registered] = {}
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


def _safely(type_id: str, callback: str, call: Callable[[], Any], on_error: Callable[[], Any]):
    """The one error wrapper: ``call()``, or on any exception report it once and return
    ``on_error()`` (itself guarded: nothing ever escapes into C)."""
    try:
        return call()
    except Exception as exc:
        _report(type_id, callback, exc)
    try:
        return on_error()
    except Exception as exc:
        _report(type_id, f"{callback}(on error)", exc)
        return None


def _instance_trampoline(type_id: str, field: str) -> Any:
    prototype, args_in, result_out, on_error = _INSTANCE_CALLS[field]

    def trampoline(data: int, *c_args: Any) -> Any:
        entry = instances.remove(data) if field == "destroy" else instances.lookup(data)
        if field == "destroy" and frame_hold.forget(data):  # OBS calls filter_remove first
            log.warning("%s: destroyed holding a frame it could not give back", type_id)
        if entry is None:
            return on_error(None, *c_args)
        _, inst, source = entry
        return _safely(
            type_id,
            field,
            lambda: result_out(getattr(inst, field)(*args_in(*c_args))),
            lambda: on_error(source, *c_args),
        )

    return prototype(trampoline)


def _filter_video_trampoline(type_id: str) -> Any:
    """``filter_video`` returns the frame it was given, or with the filter's say-so the one
    kept a tick before (``jump.obs.frame_hold``). Whatever happens in Python, even outside
    ``_safely``, OBS gets a frame back and never one twice: a NULL return without keeping
    the frame would leak it (obs-source.c, ``filter_frame``)."""
    from jump.obs.video_frame import AsyncFrame

    def trampoline(data: int, frame: int | None) -> int | None:
        if not frame:
            return frame
        try:
            entry = instances.lookup(data)
            hold = False
            if entry is not None:
                inst = entry[1]
                held = _safely(
                    type_id, "filter_video", lambda: inst.filter_video(AsyncFrame(frame)), list
                )
                hold = held is True
            parent = L.fn().obs_filter_get_parent(entry[2].ptr) if entry is not None else None
        except BaseException:  # nothing may stop the frame going back
            hold, parent = False, None
        try:
            return frame_hold.swap(data, frame, hold, parent)
        except BaseException:  # swap keeps the frame as its last step: not kept here
            return frame

    return L.FILTER_VIDEO(trampoline)


def _filter_remove(data: int, parent: int | None) -> None:
    """A kept frame goes back to the source the filter leaves (removed or destroyed)."""
    with contextlib.suppress(BaseException):  # nothing may escape into C
        frame_hold.release(data, parent)


def _make_info(type_id: str, spec: FilterSpec, keep: list[Any]) -> L.obs_source_info:
    name_buf = ctypes.create_string_buffer(spec.name.encode("utf-8"))
    id_bytes = type_id.encode("utf-8")
    keep += [name_buf, id_bytes]

    def current() -> FilterSpec:  # the spec of the latest script load
        return _types[type_id].spec

    def get_name(_type_data: int) -> int:
        return ctypes.addressof(name_buf)

    def create(settings: int, source: int) -> int | None:
        src = Source(source)
        spec_now = current()
        inst = _safely(
            type_id,
            "create",
            lambda: spec_now.create(Settings(settings), src),
            lambda: spec_now.create_passthrough(Settings(settings), src),
        )
        return None if inst is None else instances.add(type_id, inst, src)

    def get_defaults(settings: int) -> None:
        _safely(type_id, "get_defaults", lambda: current().get_defaults(Settings(settings)), list)

    def get_properties(data: int) -> int | None:
        inst = instances.instance_for(data)
        return _safely(
            type_id,
            "get_properties",
            lambda: current().get_properties(inst).ptr,
            L.fn().obs_properties_create,
        )

    cbs: dict[str, Any] = {
        "get_name": L.GET_NAME(get_name),
        "create": L.CREATE(create),
        "get_defaults": L.GET_DEFAULTS(get_defaults),
        "get_properties": L.GET_PROPERTIES(get_properties),
    }
    for field in _INSTANCE_CALLS:
        method = getattr(spec, field)
        if method is None:
            continue
        if getattr(method, "__name__", field) != field:
            raise ValueError(f"{type_id}: {field} names {method.__name__}, not {field}")
        cbs[field] = _instance_trampoline(type_id, field)
    if spec.filter_video is not None:
        if spec.filter_video.__name__ != "filter_video":
            raise ValueError(f"{type_id}: filter_video names {spec.filter_video.__name__}")
        cbs["filter_video"] = _filter_video_trampoline(type_id)
        cbs["filter_remove"] = L.FILTER_REMOVE(_filter_remove)

    info = L.obs_source_info()
    info.id = id_bytes
    info.type = L.OBS_SOURCE_TYPE_FILTER
    info.output_flags = spec.output_flags
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
