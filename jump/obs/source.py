"""Typed handles on the sources a filter deals with, and what OBS's outputs run at.

A filter never sees an ``obs_source_t*``: it holds ``Source`` objects (its own source, the
target it filters, the parent it is on) and asks them for sizes, colour spaces and draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from ctypes import c_int

from jump.obs import libobs as L


class Source:
    """A borrowed obs_source_t* (valid until the filter's destroy). Equal by pointer, so a
    parent source can key a dict (``jump.filters.av_sync``)."""

    __slots__ = ("ptr",)

    def __init__(self, ptr: int) -> None:
        self.ptr = ptr

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Source) and other.ptr == self.ptr

    def __hash__(self) -> int:
        return hash(self.ptr)

    @property
    def name(self) -> str:
        raw = L.fn().obs_source_get_name(self.ptr)
        return raw.decode("utf-8", "replace") if raw else "?"

    def target(self) -> Source | None:
        """The source this filter draws (the next filter, or the parent): None if none."""
        ptr = L.fn().obs_filter_get_target(self.ptr)
        return Source(ptr) if ptr else None

    def parent(self) -> Source | None:
        """The source this filter is on: None if none."""
        ptr = L.fn().obs_filter_get_parent(self.ptr)
        return Source(ptr) if ptr else None

    def skip_video_filter(self) -> None:
        L.fn().obs_source_skip_video_filter(self.ptr)

    def base_size(self) -> tuple[int, int]:
        f = L.fn()
        return int(f.obs_source_get_base_width(self.ptr)), int(
            f.obs_source_get_base_height(self.ptr)
        )

    def color_space(self, preferred: Sequence[int]) -> int:
        """The space this source draws in, given the spaces the caller prefers (gs_color_space)."""
        spaces = (c_int * len(preferred))(*preferred)
        return int(L.fn().obs_source_get_color_space(self.ptr, len(preferred), spaces))

    def target_color_space(self, preferred: Sequence[int]) -> int:
        """A filter's ``video_get_color_space``: its target's space, sRGB without one."""
        target = self.target()
        return target.color_space(preferred) if target is not None else L.GS_CS_SRGB

    def output_flags(self) -> int:
        return int(L.fn().obs_source_get_output_flags(self.ptr))

    def async_frames(self) -> bool:
        """Whether OBS hands this source's filters its frames in ``filter_video``: an
        async source (webcam, media) with deinterlacing off (with it on, OBS filters two
        frames a tick and draws a blend of them)."""
        if not self.output_flags() & L.OBS_SOURCE_ASYNC:
            return False
        mode = L.fn().obs_source_get_deinterlace_mode
        return mode is None or int(mode(self.ptr)) == 0  # OBS_DEINTERLACE_MODE_DISABLE

    def sees_parent_frames(self) -> bool:
        """For a filter: whether what it draws (its target) is its parent's async frames
        as ``filter_video`` hands them over — the parent is async (``async_frames``) and
        no enabled filter between draws on the GPU (crop, colour correction…); audio
        filters and frame-based (async) video filters pass the picture on as it is."""
        parent = self.parent()
        if parent is None or not parent.async_frames():
            return False
        enabled = L.fn().obs_source_enabled
        target = self.target()
        for _ in range(64):  # a chain is never this long; a loop must not hang OBS
            if target is None:
                return False
            if target == parent:
                return True
            flags = target.output_flags()
            on = enabled is None or bool(enabled(target.ptr))
            if on and flags & L.OBS_SOURCE_VIDEO and not flags & L.OBS_SOURCE_ASYNC:
                return False
            target = target.target()
        return False


def audio_format() -> tuple[int, int]:
    """(sample rate, channels) of OBS's audio output — what every audio filter receives."""
    f = L.fn()
    audio = f.obs_get_audio()
    return int(f.audio_output_get_sample_rate(audio)), int(f.audio_output_get_channels(audio))


def output_fps() -> float:
    """OBS's output frame rate (what each source is drawn at); 30 if OBS cannot say."""
    try:
        f = L.fn()
        video = f.obs_get_video() if f.obs_get_video is not None else None
        get_rate = f.video_output_get_frame_rate
        fps = float(get_rate(video)) if video and get_rate is not None else 0.0
    except Exception:  # outside OBS, or an odd libobs: must not stop the filter
        fps = 0.0
    return fps if 1.0 <= fps <= 1000.0 else 30.0
