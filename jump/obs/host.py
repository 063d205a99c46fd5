"""Host libobs in this process, without the OBS application: start it with a renderer,
load a few plugins, build a scene, read its frame counters and the composited picture.

The lab's libobs harness (`jump.lab.libobs_render`) runs Jump Matte this way where the OBS
application cannot come (a GPU machine without Qt or OBS's embedded Python); the filters
never use this module. Signatures are those of libobs 29 (Debian 12's 29.0.2): the
structs below have kept their layout since 27.
"""

from __future__ import annotations

import ctypes
import threading
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    byref,
    c_bool,
    c_char_p,
    c_double,
    c_int,
    c_longlong,
    c_uint32,
    c_uint64,
    c_void_p,
)
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jump.obs import libobs as L

P = c_void_p
OBS_NIX_PLATFORM_X11_EGL = 1  # enum obs_nix_platform_type (X11_GLX = 0 is gone in 29)
OBS_VIDEO_SUCCESS = 0
MODULE_SUCCESS = 0
VIDEO_FORMAT_BGRA = 7  # enum video_format
VIDEO_CS_709 = 2
VIDEO_RANGE_FULL = 2
OBS_SCALE_BICUBIC = 2
SPEAKERS_STEREO = 2
RESET_VIDEO_ERRORS = {
    -1: "not supported",
    -2: "invalid parameter",
    -3: "currently active",
    -4: "graphics module not found",
    -5: "failed (see the log above)",
}


class obs_video_info(Structure):
    _fields_ = [
        ("graphics_module", c_char_p),
        ("fps_num", c_uint32),
        ("fps_den", c_uint32),
        ("base_width", c_uint32),
        ("base_height", c_uint32),
        ("output_width", c_uint32),
        ("output_height", c_uint32),
        ("output_format", c_int),
        ("adapter", c_uint32),
        ("gpu_conversion", c_bool),
        ("colorspace", c_int),
        ("range", c_int),
        ("scale_type", c_int),
    ]


class obs_audio_info(Structure):
    _fields_ = [("samples_per_sec", c_uint32), ("speakers", c_int)]


class video_data(Structure):
    _fields_ = [
        ("data", P * L.MAX_AV_PLANES),
        ("linesize", c_uint32 * L.MAX_AV_PLANES),
        ("timestamp", c_uint64),
    ]


RAW_VIDEO = CFUNCTYPE(None, P, POINTER(video_data))
# void (*log_handler_t)(int lvl, const char *msg, va_list args, void *p): a va_list
# parameter is a pointer on x86-64 and arm64 Linux, handed on to vsnprintf as it came
LOG_HANDLER = CFUNCTYPE(None, c_int, c_char_p, P, P)
LEVELS = {L.LOG_ERROR: "error", L.LOG_WARNING: "warning", L.LOG_INFO: "info", L.LOG_DEBUG: "debug"}

_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "obs_set_nix_platform": (None, [c_int]),
    "obs_startup": (c_bool, [c_char_p, c_char_p, P]),
    "obs_shutdown": (None, []),
    "obs_reset_video": (c_int, [POINTER(obs_video_info)]),
    "obs_reset_audio": (c_bool, [POINTER(obs_audio_info)]),
    "obs_open_module": (c_int, [POINTER(P), c_char_p, c_char_p]),
    "obs_init_module": (c_bool, [P]),
    "obs_post_load_modules": (None, []),
    "obs_data_create": (P, []),
    "obs_data_release": (None, [P]),
    "obs_data_set_string": (None, [P, c_char_p, c_char_p]),
    "obs_data_set_int": (None, [P, c_char_p, c_longlong]),
    "obs_data_set_double": (None, [P, c_char_p, c_double]),
    "obs_data_set_bool": (None, [P, c_char_p, c_bool]),
    "obs_source_create": (P, [c_char_p, c_char_p, P, P]),
    "obs_source_release": (None, [P]),
    "obs_source_update": (None, [P, P]),
    "obs_source_filter_add": (None, [P, P]),
    "obs_source_filter_remove": (None, [P, P]),
    "obs_source_get_width": (c_uint32, [P]),
    "obs_source_get_height": (c_uint32, [P]),
    "obs_scene_create": (P, [c_char_p]),
    "obs_scene_release": (None, [P]),
    "obs_scene_get_source": (P, [P]),
    "obs_scene_add": (P, [P, P]),
    "obs_set_output_source": (None, [c_uint32, P]),
    "obs_get_total_frames": (c_uint32, []),
    "obs_get_lagged_frames": (c_uint32, []),
    "obs_get_average_frame_time_ns": (c_uint64, []),
    "obs_get_active_fps": (c_double, []),
    "obs_add_raw_video_callback": (None, [P, RAW_VIDEO, P]),
    "obs_remove_raw_video_callback": (None, [RAW_VIDEO, P]),
    "base_set_log_handler": (None, [LOG_HANDLER, P]),
}


class _Host:
    def __init__(self, lib: ctypes.CDLL) -> None:
        for name, (restype, argtypes) in _SIGNATURES.items():
            func = getattr(lib, name)
            func.restype, func.argtypes = restype, argtypes
            setattr(self, name, func)


_host: _Host | None = None


def fn() -> Any:
    """The hosting functions of libobs (loaded with Jump's own table, `jump.obs.libobs`)."""
    global _host
    if _host is None:
        _host = _Host(L.fn().lib)
    return _host


def _b(text: str) -> bytes:
    return text.encode("utf-8")


# --- the log ---------------------------------------------------------------------------
class _LogFile:
    """libobs's log (and Jump's, which goes through blog) into a file, one line a message,
    "level: message"; errors also to stderr."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 (the process's life)
        libc = ctypes.CDLL(None)
        self.vsnprintf = libc.vsnprintf
        self.vsnprintf.restype = c_int
        self.vsnprintf.argtypes = [ctypes.c_char_p, ctypes.c_size_t, c_char_p, P]
        self.buffer = ctypes.create_string_buffer(8192)
        self.handler = LOG_HANDLER(self.write)  # kept: libobs calls it until exit

    def write(self, level: int, fmt: bytes, args: int, _param: int) -> None:
        try:
            with self.lock:
                self.vsnprintf(self.buffer, len(self.buffer), fmt, args)
                text = self.buffer.value.decode("utf-8", "replace")
                line = f"{LEVELS.get(level, level)}: {text}"
                self.file.write(line + "\n")
                self.file.flush()
            if level <= L.LOG_ERROR:
                import sys

                print(line, file=sys.stderr, flush=True)
        except Exception:  # never let an exception out of a C callback
            pass


_log: _LogFile | None = None


def capture_log(path: Path) -> None:
    """Send libobs's log to `path` (call before `startup`; once per process)."""
    global _log
    if _log is None:
        _log = _LogFile(path)
        fn().base_set_log_handler(_log.handler, None)


def log_lines(path: Path, needle: str) -> list[str]:
    """The lines of a captured log that contain `needle`."""
    if not path.is_file():
        return []
    return [line for line in path.read_text(errors="replace").splitlines() if needle in line]


# --- start and stop ---------------------------------------------------------------------
def startup(
    canvas: tuple[int, int],
    fps: int,
    config_dir: Path,
    graphics_module: str = "libobs-opengl.so.1",
) -> None:
    """obs_startup, then video (OpenGL through EGL on the X display in $DISPLAY) and audio.

    Raises RuntimeError with libobs's reason when a step fails (the log says more).
    """
    f = fn()
    f.obs_set_nix_platform(OBS_NIX_PLATFORM_X11_EGL)
    config_dir.mkdir(parents=True, exist_ok=True)
    if not f.obs_startup(b"en-US", _b(str(config_dir)), None):
        raise RuntimeError("obs_startup failed (is $DISPLAY an X server?)")
    width, height = canvas
    ovi = obs_video_info(
        graphics_module=_b(graphics_module),
        fps_num=fps,
        fps_den=1,
        base_width=width,
        base_height=height,
        output_width=width,
        output_height=height,
        output_format=VIDEO_FORMAT_BGRA,
        adapter=0,
        gpu_conversion=True,
        colorspace=VIDEO_CS_709,
        range=VIDEO_RANGE_FULL,
        scale_type=OBS_SCALE_BICUBIC,
    )
    code = f.obs_reset_video(byref(ovi))
    if code != OBS_VIDEO_SUCCESS:
        raise RuntimeError(f"obs_reset_video: {RESET_VIDEO_ERRORS.get(code, code)}")
    if not f.obs_reset_audio(byref(obs_audio_info(48000, SPEAKERS_STEREO))):
        raise RuntimeError("obs_reset_audio failed")


def load_module(binary: Path, data: Path) -> None:
    """obs_open_module + obs_init_module for one plugin (e.g. image-source.so)."""
    f = fn()
    module = P()
    code = f.obs_open_module(byref(module), _b(str(binary)), _b(str(data)))
    if code != MODULE_SUCCESS or not module:
        raise RuntimeError(f"obs_open_module({binary}) returned {code}")
    if not f.obs_init_module(module):
        raise RuntimeError(f"obs_init_module({binary}) failed")


def post_load() -> None:
    fn().obs_post_load_modules()


def shutdown() -> None:
    fn().obs_shutdown()


# --- sources and scenes -------------------------------------------------------------------
def _data(settings: dict[str, Any]) -> int:
    f = fn()
    data = f.obs_data_create()
    for key, value in settings.items():
        if isinstance(value, bool):
            f.obs_data_set_bool(data, _b(key), value)
        elif isinstance(value, int):
            f.obs_data_set_int(data, _b(key), value)
        elif isinstance(value, float):
            f.obs_data_set_double(data, _b(key), value)
        else:
            f.obs_data_set_string(data, _b(key), _b(str(value)))
    return data


class Handle:
    """A source this process created (one reference, dropped by ``release``)."""

    def __init__(self, ptr: int, scene: int | None = None) -> None:
        self.ptr = ptr
        self.scene = scene  # the obs_scene_t* when this is a scene

    def size(self) -> tuple[int, int]:
        f = fn()
        return int(f.obs_source_get_width(self.ptr)), int(f.obs_source_get_height(self.ptr))

    def update(self, settings: dict[str, Any]) -> None:
        data = _data(settings)
        try:
            fn().obs_source_update(self.ptr, data)
        finally:
            fn().obs_data_release(data)

    def release(self) -> None:
        if self.scene:
            fn().obs_scene_release(self.scene)
        elif self.ptr:
            fn().obs_source_release(self.ptr)
        self.ptr, self.scene = 0, None


def create_source(kind: str, name: str, settings: dict[str, Any]) -> Handle:
    """obs_source_create (inputs and filters alike); raises if the type is unknown."""
    data = _data(settings)
    try:
        ptr = fn().obs_source_create(_b(kind), _b(name), data, None)
    finally:
        fn().obs_data_release(data)
    if not ptr:
        raise RuntimeError(f"obs_source_create({kind!r}) failed: is its plugin loaded?")
    return Handle(ptr)


def create_scene(name: str, items: list[Handle]) -> Handle:
    """A scene holding `items`, the last on top, each at the canvas origin, unscaled."""
    f = fn()
    scene = f.obs_scene_create(_b(name))
    for item in items:
        f.obs_scene_add(scene, item.ptr)
    return Handle(f.obs_scene_get_source(scene), scene=scene)


def set_output(source: Handle | None) -> None:
    """What OBS renders on output channel 0 (the program), or nothing."""
    fn().obs_set_output_source(0, source.ptr if source is not None else None)


def add_filter(source: Handle, filter_: Handle) -> None:
    fn().obs_source_filter_add(source.ptr, filter_.ptr)


def remove_filter(source: Handle, filter_: Handle) -> None:
    fn().obs_source_filter_remove(source.ptr, filter_.ptr)


# --- what the render loop did -------------------------------------------------------------
@dataclass(frozen=True)
class Counters:
    total_frames: int  # frame intervals the graphics thread went through
    lagged_frames: int  # of them, renders skipped because a frame overran its interval
    frame_time_ms: float  # libobs's moving average of the graphics thread's time per frame
    fps: float  # libobs's own measure of rendered frames per second

    def since(self, start: Counters) -> tuple[int, int]:
        """(frame intervals, renders skipped) between `start` and now (uint32 counters);
        frames rendered = intervals − skipped, as OBS's stats count them."""
        total = (self.total_frames - start.total_frames) & 0xFFFFFFFF
        return total, (self.lagged_frames - start.lagged_frames) & 0xFFFFFFFF


def counters() -> Counters:
    f = fn()
    return Counters(
        total_frames=int(f.obs_get_total_frames()),
        lagged_frames=int(f.obs_get_lagged_frames()),
        frame_time_ms=f.obs_get_average_frame_time_ns() / 1e6,
        fps=float(f.obs_get_active_fps()),
    )


class OutputGrab:
    """The composited program output, BGRA, as an encoder would receive it.

    Registers a raw video callback (libobs then stages and reads back every frame, as it
    does for an encoder) until `grab` returns, so measurements taken before it are not
    charged with the readback.
    """

    def __init__(self, canvas: tuple[int, int]) -> None:
        self.canvas = canvas
        self._frame: bytes | None = None
        self._skip = 0
        self._done = threading.Event()
        self._cb = RAW_VIDEO(self._on_frame)  # kept: libobs calls it until removed

    def _on_frame(self, _param: int, frame: Any) -> None:
        try:
            if self._done.is_set():
                return
            if self._skip > 0:  # the first staged frames may predate the callback
                self._skip -= 1
                return
            width, height = self.canvas
            pitch = int(frame.contents.linesize[0])
            rows = ctypes.string_at(frame.contents.data[0], pitch * height)
            # rows may be padded: keep width * 4 bytes of each
            self._frame = b"".join(rows[y * pitch : y * pitch + width * 4] for y in range(height))
            self._done.set()
        except Exception:  # never let an exception out of a C callback
            self._done.set()

    def grab(self, timeout: float = 10.0, skip: int = 3) -> bytes | None:
        """An output frame's bytes (height × width × 4, BGRA) after `skip` frames, None on
        timeout."""
        f = fn()
        self._skip, self._frame = skip, None
        self._done.clear()
        f.obs_add_raw_video_callback(None, self._cb, None)
        try:
            self._done.wait(timeout)
        finally:
            f.obs_remove_raw_video_callback(self._cb, None)
        return self._frame
