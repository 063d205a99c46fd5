"""Small owners of libobs graphics objects. Call them on the graphics thread only
(inside video_render, or between obs_enter_graphics/obs_leave_graphics)."""

from __future__ import annotations

import ctypes
import time
from collections.abc import Container
from contextlib import contextmanager
from ctypes import POINTER, byref, c_uint8, c_uint32, c_void_p
from pathlib import Path
from typing import Any

from jump.obs import libobs as L
from jump.obs.source import Source


def _b(text: str) -> bytes:
    return text.encode("utf-8")


def format_for_space(space: int) -> int:
    """gs_get_format_from_space: 16-bit float targets for HDR/high-precision spaces."""
    return L.GS_RGBA if space == L.GS_CS_SRGB else L.GS_RGBA16F


@contextmanager
def graphics():
    """Enter the graphics context from a non-graphics thread (destroy runs on another one)."""
    L.fn().obs_enter_graphics()
    try:
        yield
    finally:
        L.fn().obs_leave_graphics()


@contextmanager
def blend(src: int, dst: int):
    f = L.fn()
    f.gs_blend_state_push()
    f.gs_blend_function(src, dst)
    try:
        yield
    finally:
        f.gs_blend_state_pop()


@contextmanager
def linear_srgb():
    """Linear sRGB in and out for the draws inside, as process_filter_tech_end draws."""
    f = L.fn()
    previous_linear = f.gs_set_linear_srgb(True)
    previous_fb = f.gs_framebuffer_srgb_enabled()
    f.gs_enable_framebuffer_srgb(True)
    try:
        yield
    finally:
        f.gs_enable_framebuffer_srgb(previous_fb)
        f.gs_set_linear_srgb(previous_linear)


def render_source(source: Source, parent: Source | None) -> None:
    """Draw `source` into the current target the way obs_source_process_filter_begin does.

    A plain (synchronous, not custom-draw) parent source draws with whatever effect is
    active, so it gets OBS's default effect loop; async and custom-draw sources, and
    other filters, bring their own.
    """
    f = L.fn()
    flags = source.output_flags()
    if source == parent and not flags & (L.OBS_SOURCE_ASYNC | L.OBS_SOURCE_CUSTOM_DRAW):
        effect = f.obs_get_base_effect(L.OBS_EFFECT_DEFAULT)
        while f.gs_effect_loop(effect, b"Draw"):
            f.obs_source_video_render(source.ptr)
    else:
        f.obs_source_video_render(source.ptr)


def filter_begin(filter_source: Source, space: int) -> bool:
    """obs_source_process_filter_begin_with_color_space: False when OBS draws nothing this
    frame (then the filter must not skip either, or the source would be drawn twice)."""
    return bool(
        L.fn().obs_source_process_filter_begin_with_color_space(
            filter_source.ptr, format_for_space(space), space, L.OBS_ALLOW_DIRECT_RENDERING
        )
    )


def filter_end(filter_source: Source, effect: Effect, technique: str) -> None:
    """obs_source_process_filter_tech_end: draw the filtered source through ``effect``."""
    L.fn().obs_source_process_filter_tech_end(
        filter_source.ptr, effect.ptr, 0, 0, technique.encode()
    )


class TexRender:
    """A render target that is drawn at most once per frame (`reset` each tick)."""

    def __init__(self, fmt: int) -> None:
        self.fmt = fmt
        self.ptr = L.fn().gs_texrender_create(fmt, L.GS_ZS_NONE)
        self.size = (0, 0)

    def reset(self) -> None:
        L.fn().gs_texrender_reset(self.ptr)

    @contextmanager
    def target(
        self,
        width: int,
        height: int,
        ortho: tuple[int, int] | None = None,
        space: int = L.GS_CS_SRGB,
    ):
        """Render into a width×height texture; `ortho` maps a larger source onto it.

        Yields False (and draws nothing) when it was already drawn this frame.
        """
        f = L.fn()
        began = f.gs_texrender_begin_with_color_space(self.ptr, width, height, space)
        if not began:
            yield False
            return
        try:
            clear = L.vec4(0.0, 0.0, 0.0, 0.0)
            f.gs_clear(L.GS_CLEAR_COLOR, byref(clear), 0.0, 0)
            ow, oh = ortho or (width, height)
            f.gs_ortho(0.0, float(ow), 0.0, float(oh), -100.0, 100.0)
            self.size = (width, height)
            yield True
        finally:
            f.gs_texrender_end(self.ptr)

    def texture(self) -> int:
        return L.fn().gs_texrender_get_texture(self.ptr)

    def destroy(self) -> None:
        L.fn().gs_texrender_destroy(self.ptr)


class FrameHistory:
    """Full-resolution copies of the last few frames with their frame id and time, so the
    filter can draw the picture a fixed time late, with the mask computed from it."""

    def __init__(self, count: int) -> None:
        self.renders: list[TexRender | None] = []
        self.ids: list[int] = []
        self.times: list[int] = []
        self.resize(count)

    def resize(self, count: int) -> None:
        if count != len(self.renders):
            self.destroy()
            self.renders, self.ids, self.times = [None] * count, [-1] * count, [0] * count

    def store(
        self,
        frame_id: int,
        time_ns: int,
        source: Source,
        parent: Source | None,
        size: tuple[int, int],
        space: int,
    ) -> None:
        slot = frame_id % len(self.renders)
        fmt = format_for_space(space)
        render = self.renders[slot]
        if render is None or render.fmt != fmt:
            if render is not None:
                render.destroy()
            render = self.renders[slot] = TexRender(fmt)
        render.reset()
        with render.target(*size, space=space) as drawing, blend(L.GS_BLEND_ONE, L.GS_BLEND_ZERO):
            if drawing:
                render_source(source, parent)
        self.ids[slot], self.times[slot] = frame_id, time_ns

    def at(
        self, time_ns: int, masked: Container[int] = ()
    ) -> tuple[int, tuple[int, int], int, int] | None:
        """(texture, size, frame id, time) of the newest frame held from at or before `time_ns`,
        or of the one before it when only that one's id is in `masked` (a frame the
        worker skipped is replaced by its neighbour: picture and mask stay in step)."""
        held = sorted(
            (frame_id, slot)
            for slot, (frame_id, t) in enumerate(zip(self.ids, self.times, strict=True))
            if frame_id >= 0 and t <= time_ns and self.renders[slot] is not None
        )
        if not held:
            return None
        frame_id, slot = held[-1]
        if frame_id not in masked and len(held) > 1 and held[-2][0] in masked:
            frame_id, slot = held[-2]
        render = self.renders[slot]
        return render.texture(), render.size, frame_id, self.times[slot]

    def destroy(self) -> None:
        for render in self.renders:
            if render is not None:
                render.destroy()
        count = len(self.renders)
        self.renders, self.ids, self.times = [None] * count, [-1] * count, [0] * count


def frame_time_ns() -> int:
    """The time of the video frame OBS is rendering (its output clock, which steps over
    the frames it skips when it lags); a monotonic clock where libobs cannot say."""
    get_time = L.fn().obs_get_video_frame_time
    return int(get_time()) if get_time is not None else time.monotonic_ns()


class StageRing:
    """N stage surfaces: stage this frame into one, read back the one staged N-1 frames
    ago, whose copy the GPU has long finished — the render thread never waits on it."""

    def __init__(self, count: int = 3) -> None:
        self.count = count
        self.surfaces: list[int] = []
        self.staged: list[int | None] = []  # frame id staged in each slot
        self.size = (0, 0)
        self.index = 0

    def _ensure(self, width: int, height: int) -> None:
        if self.size == (width, height) and self.surfaces:
            return
        self.destroy()
        f = L.fn()
        self.surfaces = [
            f.gs_stagesurface_create(width, height, L.GS_BGRA) for _ in range(self.count)
        ]
        self.staged = [None] * self.count
        self.size = (width, height)

    def stage(self, texture: int, width: int, height: int, frame_id: int) -> None:
        self._ensure(width, height)
        self.index = (self.index + 1) % self.count
        L.fn().gs_stage_texture(self.surfaces[self.index], texture)
        self.staged[self.index] = frame_id

    def read_oldest(self) -> tuple[Any, int] | None:
        """(BGRA uint8 copy HxWx4, frame id) of the oldest staged frame, or None."""
        import numpy as np

        if not self.surfaces:
            return None
        slot = (self.index + 1) % self.count
        frame_id = self.staged[slot]
        if frame_id is None:
            return None
        f = L.fn()
        data, linesize = c_void_p(), c_uint32()
        if not f.gs_stagesurface_map(self.surfaces[slot], byref(data), byref(linesize)):
            return None
        try:
            w, h = self.size
            rows = np.ctypeslib.as_array(
                ctypes.cast(data, POINTER(c_uint8)), shape=(h, linesize.value)
            )
            frame = rows[:, : w * 4].reshape(h, w, 4).copy()
        finally:
            f.gs_stagesurface_unmap(self.surfaces[slot])
        self.staged[slot] = None
        return frame, frame_id

    def destroy(self) -> None:
        for surface in self.surfaces:
            L.fn().gs_stagesurface_destroy(surface)
        self.surfaces, self.staged, self.size = [], [], (0, 0)


class DynamicTexture:
    """A CPU-updated texture (the mask, R8), recreated when its size changes."""

    def __init__(self, fmt: int, bytes_per_pixel: int) -> None:
        self.fmt = fmt
        self.bpp = bytes_per_pixel
        self.ptr = 0
        self.size = (0, 0)

    def upload(self, pixels: Any) -> None:
        import numpy as np

        pixels = np.ascontiguousarray(pixels)
        h, w = pixels.shape[:2]
        f = L.fn()
        if (w, h) != self.size:
            self.destroy()
            self.ptr = f.gs_texture_create(w, h, self.fmt, 1, None, L.GS_DYNAMIC)
            self.size = (w, h)
        f.gs_texture_set_image(self.ptr, pixels.ctypes.data, w * self.bpp, False)

    @property
    def loaded(self) -> bool:
        return bool(self.ptr)

    def destroy(self) -> None:
        if self.ptr:
            L.fn().gs_texture_destroy(self.ptr)
        self.ptr, self.size = 0, (0, 0)


class FileTexture:
    """A picture loaded by libobs (background image), reloaded when the path changes."""

    def __init__(self) -> None:
        self.ptr = 0
        self.path = ""

    def load(self, path: str) -> int:
        if path != self.path:
            self.destroy()
            self.path = path
            if path and Path(path).is_file():
                self.ptr = L.fn().gs_texture_create_from_file(_b(path)) or 0
        return self.ptr

    def destroy(self) -> None:
        if self.ptr:
            L.fn().gs_texture_destroy(self.ptr)
        self.ptr, self.path = 0, ""


class Effect:
    """A compiled .effect file and its parameters by name."""

    def __init__(self, path: Path) -> None:
        error = ctypes.c_char_p()
        self.ptr = L.fn().gs_effect_create(
            _b(path.read_text(encoding="utf-8")), _b(str(path)), byref(error)
        )
        if not self.ptr:
            message = error.value.decode("utf-8", "replace") if error.value else "unknown error"
            if error.value:
                L.fn().bfree(ctypes.cast(error, c_void_p))  # libobs allocated the message
            raise RuntimeError(f"cannot compile {path.name}: {message}")
        self._params: dict[str, int] = {}

    def param(self, name: str) -> int:
        if name not in self._params:
            self._params[name] = L.fn().gs_effect_get_param_by_name(self.ptr, _b(name))
        return self._params[name]

    def set_texture(
        self, name: str, texture: int | DynamicTexture | FileTexture, srgb: bool = False
    ) -> None:
        """Bind a texture: a texture object of this module, or a handle one returned."""
        f = L.fn()
        handle = texture.ptr if isinstance(texture, DynamicTexture | FileTexture) else texture
        (f.gs_effect_set_texture_srgb if srgb else f.gs_effect_set_texture)(
            self.param(name), handle
        )

    def set_float(self, name: str, value: float) -> None:
        L.fn().gs_effect_set_float(self.param(name), float(value))

    def set_vec2(self, name: str, x: float, y: float) -> None:
        L.fn().gs_effect_set_vec2(self.param(name), byref(L.vec2(x, y)))

    def set_vec4(self, name: str, x: float, y: float, z: float, w: float) -> None:
        L.fn().gs_effect_set_vec4(self.param(name), byref(L.vec4(x, y, z, w)))

    def draw(self, technique: str, texture: int, width: int, height: int) -> None:
        """Draw `texture` as a width×height sprite with every pass of `technique`."""
        f = L.fn()
        while f.gs_effect_loop(self.ptr, _b(technique)):
            f.gs_draw_sprite(texture, 0, width, height)

    def destroy(self) -> None:
        if self.ptr:
            L.fn().gs_effect_destroy(self.ptr)
        self.ptr = 0
