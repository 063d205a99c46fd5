"""libobs's ABI as Windows (LLP64) and macOS/Linux (LP64) see it, checked on Linux.

The structs Jump hands OBS are laid out here from OBS's C declarations (obs-source.h,
obs.h) with each data model's type sizes, independently of ctypes, and compared with
Jump's ctypes declarations. No ``long``/``unsigned long``/``wchar_t`` may appear anywhere
in a signature or struct (4 bytes on Windows, 8 on 64-bit Unix; wchar_t 2 vs 4 bytes).
``blog`` is variadic and must carry argtypes (Apple arm64 passes variadic arguments on the
stack, CPython gh-92892); a real variadic libc function with blog's shape (``dprintf``)
proves the call passes the message intact.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import re
import sys
from pathlib import Path

import pytest

from jump.obs import libobs

REPO = Path(__file__).resolve().parents[2]

# C type -> (size, alignment) per data model; every OBS pointer type is a "ptr".
MODELS = {
    "LP64": {"ptr": (8, 8), "int": (4, 4), "enum": (4, 4), "uint32_t": (4, 4),
             "uint64_t": (8, 8), "long": (8, 8), "size_t": (8, 8), "float": (4, 4),
             "bool": (1, 1), "uint8_t": (1, 1), "uint16_t": (2, 2)},
    "LLP64": {"ptr": (8, 8), "int": (4, 4), "enum": (4, 4), "uint32_t": (4, 4),
              "uint64_t": (8, 8), "long": (4, 4), "size_t": (8, 8), "float": (4, 4),
              "bool": (1, 1), "uint8_t": (1, 1), "uint16_t": (2, 2)},
}  # fmt: skip

# struct obs_source_info, obs-source.h (OBS 28-32), up to video_get_color_space
SOURCE_INFO_C = [("id", "ptr"), ("type", "enum"), ("output_flags", "uint32_t")] + [
    (name, "ptr")
    for name in [
        "get_name",
        "create",
        "destroy",
        "get_width",
        "get_height",
        "get_defaults",
        "get_properties",
        "update",
        "activate",
        "deactivate",
        "show",
        "hide",
        "video_tick",
        "video_render",
        "filter_video",
        "filter_audio",
        "enum_active_sources",
        "save",
        "load",
        "mouse_click",
        "mouse_move",
        "mouse_wheel",
        "focus",
        "key_click",
        "filter_remove",
        "type_data",
        "free_type_data",
        "audio_render",
        "enum_all_sources",
        "transition_start",
        "transition_stop",
        "get_defaults2",
        "get_properties2",
        "audio_mix",
    ]
]
SOURCE_INFO_C += [("icon_type", "enum")] + [("media_fns", "ptr")] * 9
SOURCE_INFO_C += [("version", "uint32_t"), ("unversioned_id", "ptr"), ("missing_files", "ptr"),
                  ("video_get_color_space", "ptr")]  # fmt: skip
# struct obs_audio_data, obs.h
AUDIO_DATA_C = [("data", "ptr")] * 8 + [("frames", "uint32_t"), ("timestamp", "uint64_t")]
# struct obs_source_frame, obs.h (OBS 29.0.2), whole: Jump declares it up to trc
SOURCE_FRAME_C = [("data", "ptr")] * 8 + [("linesize", "uint32_t")] * 8
SOURCE_FRAME_C += [
    ("width", "uint32_t"),
    ("height", "uint32_t"),
    ("timestamp", "uint64_t"),
    ("format", "enum"),
] + [("color_matrix", "float")] * 16
SOURCE_FRAME_C += [("full_range", "bool"), ("max_luminance", "uint16_t")]
SOURCE_FRAME_C += [("color_range_min", "float")] * 3 + [("color_range_max", "float")] * 3
SOURCE_FRAME_C += [("flip", "bool"), ("flags", "uint8_t"), ("trc", "uint8_t"),
                   ("refs", "long"), ("prev_frame", "bool")]  # fmt: skip


def c_layout(fields: list[tuple[str, str]], model: str) -> tuple[dict[str, int], int]:
    """C's offsets (first occurrence of each name) and sizeof, for one data model."""
    sizes, offset, offsets, widest = MODELS[model], 0, {}, 1
    for name, ctype in fields:
        size, align = sizes[ctype]
        offset = (offset + align - 1) // align * align
        offsets.setdefault(name, offset)
        offset += size
        widest = max(widest, align)
    return offsets, (offset + widest - 1) // widest * widest


@pytest.mark.parametrize("model", ["LP64", "LLP64"])
def test_obs_source_info_matches_c_on_every_data_model(model: str) -> None:
    offsets, size = c_layout(SOURCE_INFO_C, model)
    assert size == ctypes.sizeof(libobs.obs_source_info) == 400
    for name, _ in libobs.obs_source_info._fields_:
        assert getattr(libobs.obs_source_info, name).offset == offsets[name], name


@pytest.mark.parametrize("model", ["LP64", "LLP64"])
def test_obs_audio_data_matches_c_on_every_data_model(model: str) -> None:
    offsets, size = c_layout(AUDIO_DATA_C, model)
    assert size == ctypes.sizeof(libobs.obs_audio_data) == 80
    for name in ("data", "frames", "timestamp"):
        assert getattr(libobs.obs_audio_data, name).offset == offsets[name], name


@pytest.mark.parametrize("model", ["LP64", "LLP64"])
def test_obs_source_frame_matches_c_on_every_data_model(model: str) -> None:
    """Every field Jump reads sits where C puts it; ``refs`` (a long: 8 bytes here, 4 on
    Windows) comes after them and is not declared, so the prefix is the same on both."""
    offsets, _ = c_layout(SOURCE_FRAME_C, model)
    names = [name for name, _ in libobs.obs_source_frame._fields_]
    assert names[-1] == "trc" and "refs" not in names
    for name in names:
        assert getattr(libobs.obs_source_frame, name).offset == offsets[name], name
    assert offsets["color_matrix"] == 116 and offsets["flip"] == 208
    assert offsets["refs"] == (216 if model == "LP64" else 212)
    assert libobs.obs_source_frame.trc.offset + 1 <= offsets["refs"]


def test_no_platform_sized_types_in_any_ctypes_declaration() -> None:
    """c_long/c_ulong are 4 bytes on Windows; c_wchar is 2 bytes there. By name in the
    source (on Linux c_long *is* c_longlong, so identity cannot tell them apart)."""
    banned = re.compile(r"\bc_u?long\b|\bc_wchar(_p)?\b")
    offenders = []
    for path in [*sorted((REPO / "jump").rglob("*.py")), REPO / "jump_obs.py"]:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if banned.search(line.split("#")[0]):
                offenders.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
    # and by type, in everything libobs declares (catches wchar through an alias)
    seen = []

    def walk(t: object) -> None:
        if t is None or t in seen:
            return
        seen.append(t)
        assert t not in (ctypes.c_wchar, ctypes.c_wchar_p), t
        for attr in ("_type_", "_restype_"):
            inner = getattr(t, attr, None)
            if isinstance(inner, type):
                walk(inner)
        for arg in getattr(t, "_argtypes_", ()) or ():
            walk(arg)
        for _, ft in getattr(t, "_fields_", ()):
            walk(ft)

    for restype, argtypes in libobs._SIGNATURES.values():
        walk(restype)
        for a in argtypes:
            walk(a)
    walk(libobs.obs_source_info)
    walk(libobs.obs_audio_data)
    walk(libobs.obs_source_frame)
    assert len(seen) > 20


class _FakeFunc:
    def __init__(self, name: str) -> None:
        self.name, self.restype, self.argtypes = name, None, None


class _FakeLib:
    def __init__(self, name: object = None) -> None:
        self.name = name

    def __getattr__(self, name: str) -> _FakeFunc:
        func = _FakeFunc(name)
        setattr(self, name, func)
        return func


@pytest.mark.parametrize(
    ("platform", "loaded"), [("win32", "obs"), ("darwin", None), ("linux", "libobs.so.0")]
)
def test_libobs_loads_and_declares_blog_on_every_platform(
    monkeypatch: pytest.MonkeyPatch, platform: str, loaded: object
) -> None:
    """The module imports with sys.platform patched, picks OBS's library name, and gives
    every function (variadic blog included) its argtypes."""
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(ctypes, "CDLL", _FakeLib)
    module = importlib.reload(libobs)
    try:
        lib = module._load()
        assert lib.name == loaded
        table = module._Functions(lib)
        assert table._blog.argtypes == [ctypes.c_int, ctypes.c_char_p]
        for name in module._SIGNATURES:
            assert getattr(table, name).argtypes is not None, name
    finally:
        monkeypatch.undo()
        importlib.reload(libobs)


def test_blog_passes_the_message_through_a_real_variadic_call() -> None:
    """libc's dprintf(int fd, const char *fmt, ...) has blog's shape: bound by
    ``_Functions`` exactly as blog is, it prints the message verbatim ('%' included)."""

    class Lib:  # only "blog"; every other libobs function is absent (None in the table)
        blog = ctypes.CDLL(None).dprintf

    table = libobs._Functions(Lib())  # type: ignore[arg-type]
    assert table.obs_get_version is None
    assert table._blog.argtypes == [ctypes.c_int, ctypes.c_char_p]
    read_fd, write_fd = os.pipe()
    try:
        table.blog(write_fd, "[jump] 100% José %s %n")
        assert os.read(read_fd, 100) == "[jump] 100% José %s %n".encode()
    finally:
        os.close(read_fd)
        os.close(write_fd)
