"""ctypes declarations for the parts of libobs Jump uses — every signature declared once, here.

Nothing outside `jump.obs` sees a pointer. Structs mirror OBS 28–32 (see
docs/design.md and ../shared/docs/obs-integration.md for the ABI facts).

This module needs no numpy: it must import even when Jump's dependencies are missing,
so that the filters still register (and pass media through) and the script can say
what is missing.
"""

from __future__ import annotations

import ctypes
import sys
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_double,
    c_float,
    c_int,
    c_longlong,
    c_size_t,
    c_uint8,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
)

P = c_void_p
MAX_AV_PLANES = 8

# enum obs_source_type
OBS_SOURCE_TYPE_FILTER = 1
# output flags
OBS_SOURCE_VIDEO = 1 << 0
OBS_SOURCE_AUDIO = 1 << 1
OBS_SOURCE_ASYNC = 1 << 2
OBS_SOURCE_CUSTOM_DRAW = 1 << 3
OBS_SOURCE_SRGB = 1 << 15
OBS_EFFECT_DEFAULT = 0
# enum gs_color_format
GS_R8 = 2
GS_RGBA = 3
GS_BGRA = 5
GS_RGBA16F = 9
GS_RGBA32F = 10
GS_ZS_NONE = 0
GS_DYNAMIC = 1 << 1
# enum gs_color_space
GS_CS_SRGB = 0
GS_CS_SRGB_16F = 1
GS_CS_709_EXTENDED = 2
GS_CS_709_SCRGB = 3
# enum gs_blend_type
GS_BLEND_ZERO = 0
GS_BLEND_ONE = 1
GS_BLEND_INVSRCALPHA = 5
GS_CLEAR_COLOR = 1 << 0
# enum obs_allow_direct_render
OBS_ALLOW_DIRECT_RENDERING = 1
# log levels (util/base.h)
LOG_ERROR = 100
LOG_WARNING = 200
LOG_INFO = 300
LOG_DEBUG = 400
# enum obs_combo_type / obs_combo_format / obs_path_type / obs_text_type / obs_group_type
OBS_COMBO_TYPE_LIST = 2
OBS_COMBO_FORMAT_STRING = 3
OBS_PATH_FILE = 0
OBS_PATH_DIRECTORY = 2
OBS_TEXT_INFO = 3
OBS_GROUP_NORMAL = 1


# --- callback prototypes (restype of pointer-returning callbacks must be c_void_p) ---
GET_NAME = CFUNCTYPE(P, P)
CREATE = CFUNCTYPE(P, P, P)
DESTROY = CFUNCTYPE(None, P)
GET_U32 = CFUNCTYPE(c_uint32, P)
GET_DEFAULTS = CFUNCTYPE(None, P)
GET_PROPERTIES = CFUNCTYPE(P, P)
UPDATE = CFUNCTYPE(None, P, P)
VIDEO_TICK = CFUNCTYPE(None, P, c_float)
VIDEO_RENDER = CFUNCTYPE(None, P, P)
FILTER_AUDIO = CFUNCTYPE(P, P, P)
# (data, struct obs_source_frame*) -> the frame OBS draws: the one given, or one kept a tick
FILTER_VIDEO = CFUNCTYPE(P, P, P)
FILTER_REMOVE = CFUNCTYPE(None, P, P)  # (data, obs_source_t *parent)
VIDEO_GET_COLOR_SPACE = CFUNCTYPE(c_int, P, c_size_t, POINTER(c_int))
SIMPLE = CFUNCTYPE(None, P)
# (obs_properties_t*, obs_property_t*, void* data): data is the source's own data pointer
BUTTON_CLICKED = CFUNCTYPE(c_bool, P, P, P)
PROPERTY_MODIFIED = CFUNCTYPE(c_bool, P, P, P)  # (obs_properties_t*, obs_property_t*, obs_data_t*)


class obs_source_info(Structure):
    """The 400-byte prefix of `struct obs_source_info` shared by OBS 28.0–32.x."""

    _fields_ = [
        ("id", c_char_p),
        ("type", c_int),
        ("output_flags", c_uint32),
        ("get_name", GET_NAME),
        ("create", CREATE),
        ("destroy", DESTROY),
        ("get_width", GET_U32),
        ("get_height", GET_U32),
        ("get_defaults", GET_DEFAULTS),
        ("get_properties", GET_PROPERTIES),
        ("update", UPDATE),
        ("activate", SIMPLE),
        ("deactivate", SIMPLE),
        ("show", SIMPLE),
        ("hide", SIMPLE),
        ("video_tick", VIDEO_TICK),
        ("video_render", VIDEO_RENDER),
        ("filter_video", FILTER_VIDEO),
        ("filter_audio", FILTER_AUDIO),
        ("enum_active_sources", P),
        ("save", UPDATE),
        ("load", P),
        ("mouse_click", P),
        ("mouse_move", P),
        ("mouse_wheel", P),
        ("focus", P),
        ("key_click", P),
        ("filter_remove", FILTER_REMOVE),
        ("type_data", P),
        ("free_type_data", P),
        ("audio_render", P),
        ("enum_all_sources", P),
        ("transition_start", P),
        ("transition_stop", P),
        ("get_defaults2", P),
        ("get_properties2", P),
        ("audio_mix", P),
        ("icon_type", c_int),
        ("media_fns", P * 9),
        ("version", c_uint32),
        ("unversioned_id", c_char_p),
        ("missing_files", P),
        ("video_get_color_space", VIDEO_GET_COLOR_SPACE),
    ]


assert ctypes.sizeof(obs_source_info) == 400, ctypes.sizeof(obs_source_info)


class obs_audio_data(Structure):
    _fields_ = [
        ("data", POINTER(c_uint8) * MAX_AV_PLANES),
        ("frames", c_uint32),
        ("timestamp", c_uint64),
    ]


class obs_source_frame(Structure):
    """``struct obs_source_frame`` (obs.h, OBS 28–32) up to ``trc``: what an async source
    (webcam, media source) hands its filters' ``filter_video``. Read only, never allocated
    here; the ``volatile long refs`` that follows is libobs's own (and 4 bytes on Windows)."""

    _fields_ = [
        ("data", P * MAX_AV_PLANES),
        ("linesize", c_uint32 * MAX_AV_PLANES),
        ("width", c_uint32),
        ("height", c_uint32),
        ("timestamp", c_uint64),
        ("format", c_int),  # enum video_format (media-io/video-io.h)
        ("color_matrix", c_float * 16),  # YUV -> RGB, row-major, range included
        ("full_range", c_bool),
        ("max_luminance", c_uint16),
        ("color_range_min", c_float * 3),
        ("color_range_max", c_float * 3),
        ("flip", c_bool),
        ("flags", c_uint8),
        ("trc", c_uint8),
    ]


class vec2(Structure):
    _fields_ = [("x", c_float), ("y", c_float)]


class vec4(Structure):
    _fields_ = [("x", c_float), ("y", c_float), ("z", c_float), ("w", c_float)]


def _load() -> ctypes.CDLL:
    if sys.platform == "win32":
        return ctypes.CDLL("obs")
    if sys.platform == "darwin":
        # Inside OBS the framework is already loaded; the process namespace finds it.
        lib = ctypes.CDLL(None)
        if hasattr(lib, "obs_get_version"):
            return lib
        return ctypes.CDLL("libobs.framework/libobs")
    return ctypes.CDLL("libobs.so.0")


# name: (restype, argtypes). Functions absent from an older libobs stay None in `fn`.
_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "obs_get_version": (c_uint32, []),
    "obs_register_source_s": (None, [POINTER(obs_source_info), c_size_t]),
    "obs_source_get_name": (c_char_p, [P]),
    "obs_filter_get_target": (P, [P]),
    "obs_filter_get_parent": (P, [P]),
    "obs_source_skip_video_filter": (None, [P]),
    "obs_source_release_frame": (None, [P, P]),
    "obs_source_get_base_width": (c_uint32, [P]),
    "obs_get_video": (P, []),
    "obs_get_video_frame_time": (c_uint64, []),
    "video_output_get_frame_rate": (c_double, [P]),
    "obs_source_get_base_height": (c_uint32, [P]),
    "obs_source_video_render": (None, [P]),
    "obs_source_get_output_flags": (c_uint32, [P]),
    "obs_source_get_deinterlace_mode": (c_int, [P]),
    "obs_source_enabled": (c_bool, [P]),
    "obs_get_base_effect": (P, [c_int]),
    "obs_source_process_filter_begin_with_color_space": (c_bool, [P, c_int, c_int, c_int]),
    "obs_source_process_filter_tech_end": (None, [P, P, c_uint32, c_uint32, c_char_p]),
    "obs_source_get_color_space": (c_int, [P, c_size_t, POINTER(c_int)]),
    "obs_get_audio": (P, []),
    "audio_output_get_sample_rate": (c_uint32, [P]),
    "audio_output_get_channels": (c_size_t, [P]),
    "obs_enter_graphics": (None, []),
    "obs_leave_graphics": (None, []),
    # obs_data
    "obs_data_get_int": (c_longlong, [P, c_char_p]),
    "obs_data_get_double": (c_double, [P, c_char_p]),
    "obs_data_get_bool": (c_bool, [P, c_char_p]),
    "obs_data_get_string": (c_char_p, [P, c_char_p]),
    "obs_data_set_default_int": (None, [P, c_char_p, c_longlong]),
    "obs_data_set_default_double": (None, [P, c_char_p, c_double]),
    "obs_data_set_default_bool": (None, [P, c_char_p, c_bool]),
    "obs_data_set_default_string": (None, [P, c_char_p, c_char_p]),
    "obs_data_has_user_value": (c_bool, [P, c_char_p]),
    "obs_data_set_double": (None, [P, c_char_p, c_double]),
    "obs_data_set_string": (None, [P, c_char_p, c_char_p]),
    "obs_data_erase": (None, [P, c_char_p]),
    # obs_properties
    "obs_properties_create": (P, []),
    "obs_properties_add_bool": (P, [P, c_char_p, c_char_p]),
    "obs_properties_add_int_slider": (P, [P, c_char_p, c_char_p, c_int, c_int, c_int]),
    "obs_properties_add_float_slider": (
        P,
        [P, c_char_p, c_char_p, c_double, c_double, c_double],
    ),
    "obs_properties_add_text": (P, [P, c_char_p, c_char_p, c_int]),
    "obs_properties_add_path": (P, [P, c_char_p, c_char_p, c_int, c_char_p, c_char_p]),
    "obs_properties_add_list": (P, [P, c_char_p, c_char_p, c_int, c_int]),
    "obs_properties_add_color": (P, [P, c_char_p, c_char_p]),
    "obs_properties_add_group": (P, [P, c_char_p, c_char_p, c_int, P]),
    "obs_properties_add_button": (P, [P, c_char_p, c_char_p, BUTTON_CLICKED]),
    "obs_property_list_add_string": (c_size_t, [P, c_char_p, c_char_p]),
    "obs_properties_get": (P, [P, c_char_p]),
    "obs_property_set_visible": (None, [P, c_bool]),
    "obs_property_set_modified_callback": (None, [P, PROPERTY_MODIFIED]),
    "obs_property_set_long_description": (None, [P, c_char_p]),
    "obs_property_float_set_suffix": (None, [P, c_char_p]),
    "obs_property_int_set_suffix": (None, [P, c_char_p]),
    # graphics
    "gs_texrender_create": (P, [c_int, c_int]),
    "gs_texrender_destroy": (None, [P]),
    "gs_texrender_reset": (None, [P]),
    "gs_texrender_begin_with_color_space": (c_bool, [P, c_uint32, c_uint32, c_int]),
    "gs_texrender_end": (None, [P]),
    "gs_texrender_get_texture": (P, [P]),
    "gs_stagesurface_create": (P, [c_uint32, c_uint32, c_int]),
    "gs_stagesurface_destroy": (None, [P]),
    "gs_stage_texture": (None, [P, P]),
    "gs_stagesurface_map": (c_bool, [P, POINTER(P), POINTER(c_uint32)]),
    "gs_stagesurface_unmap": (None, [P]),
    "gs_texture_create": (P, [c_uint32, c_uint32, c_int, c_uint32, POINTER(P), c_uint32]),
    "gs_texture_destroy": (None, [P]),
    "gs_texture_create_from_file": (P, [c_char_p]),
    "gs_effect_loop": (c_bool, [P, c_char_p]),
    "gs_draw_sprite": (None, [P, c_uint32, c_uint32, c_uint32]),
    "gs_texture_set_image": (None, [P, P, c_uint32, c_bool]),
    "gs_effect_create": (P, [c_char_p, c_char_p, POINTER(c_char_p)]),
    "gs_effect_destroy": (None, [P]),
    "gs_effect_get_param_by_name": (P, [P, c_char_p]),
    "gs_effect_set_texture": (None, [P, P]),
    "gs_effect_set_texture_srgb": (None, [P, P]),
    "gs_effect_set_float": (None, [P, c_float]),
    "gs_effect_set_vec2": (None, [P, POINTER(vec2)]),
    "gs_effect_set_vec4": (None, [P, POINTER(vec4)]),
    "gs_clear": (None, [c_uint32, POINTER(vec4), c_float, c_uint8]),
    "gs_ortho": (None, [c_float, c_float, c_float, c_float, c_float, c_float]),
    "gs_blend_state_push": (None, []),
    "gs_blend_state_pop": (None, []),
    "gs_blend_function": (None, [c_int, c_int]),
    "gs_set_linear_srgb": (c_bool, [c_bool]),
    "gs_framebuffer_srgb_enabled": (c_bool, []),
    "gs_enable_framebuffer_srgb": (None, [c_bool]),
    "bfree": (None, [P]),
}


class _Functions:
    """Attribute access to the declared libobs functions (None where the running OBS lacks one)."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self.lib = lib
        for name, (restype, argtypes) in _SIGNATURES.items():
            try:
                func = getattr(lib, name)
            except AttributeError:
                setattr(self, name, None)
                continue
            func.restype = restype
            func.argtypes = argtypes
            setattr(self, name, func)
        # blog(int, const char *fmt, ...) is variadic. argtypes name the fixed arguments:
        # ctypes then calls it as variadic (ffi_prep_cif_var), which Apple arm64 needs, as
        # its variadic arguments go on the stack (CPython gh-92892). The message is passed
        # as a c_char_p through "%s", so it is never read as a format.
        self._blog = lib.blog
        self._blog.restype = None
        self._blog.argtypes = [c_int, c_char_p]

    def blog(self, level: int, message: str) -> None:
        self._blog(level, b"%s", c_char_p(message.encode("utf-8", "replace")))


_fn: _Functions | None = None


def fn() -> _Functions:
    """The libobs function table, loaded on first use (raises OSError outside OBS)."""
    global _fn
    if _fn is None:
        _fn = _Functions(_load())
    return _fn


def version() -> tuple[int, int, int]:
    v = fn().obs_get_version()
    return (v >> 24) & 0xFF, (v >> 16) & 0xFF, v & 0xFFFF
