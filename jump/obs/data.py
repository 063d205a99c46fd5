"""Pythonic wrappers over obs_data_t (settings), obs_properties_t and audio packets."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from ctypes import POINTER, c_float, cast
from typing import Any

from jump.obs import libobs as L
from jump.obs.instances import instance_for


def _b(text: str) -> bytes:
    return text.encode("utf-8")


class Settings:
    """A borrowed obs_data_t*: valid only during the callback that received it."""

    def __init__(self, ptr: int) -> None:
        self._ptr = ptr

    def get_int(self, key: str) -> int:
        return int(L.fn().obs_data_get_int(self._ptr, _b(key)))

    def get_float(self, key: str) -> float:
        return float(L.fn().obs_data_get_double(self._ptr, _b(key)))

    def get_bool(self, key: str) -> bool:
        return bool(L.fn().obs_data_get_bool(self._ptr, _b(key)))

    def get_str(self, key: str) -> str:
        raw = L.fn().obs_data_get_string(self._ptr, _b(key))
        return raw.decode("utf-8", "replace") if raw else ""

    def has_user_value(self, key: str) -> bool:
        """Whether the user (or a saved scene collection) set ``key``, not only its default."""
        return bool(L.fn().obs_data_has_user_value(self._ptr, _b(key)))

    def set_float(self, key: str, value: float) -> None:
        L.fn().obs_data_set_double(self._ptr, _b(key), float(value))

    def set_str(self, key: str, value: str) -> None:
        L.fn().obs_data_set_string(self._ptr, _b(key), _b(value))

    def erase(self, key: str) -> None:
        L.fn().obs_data_erase(self._ptr, _b(key))

    def set_default(self, key: str, value: bool | int | float | str) -> None:
        f = L.fn()
        if isinstance(value, bool):
            f.obs_data_set_default_bool(self._ptr, _b(key), value)
        elif isinstance(value, int):
            f.obs_data_set_default_int(self._ptr, _b(key), value)
        elif isinstance(value, float):
            f.obs_data_set_default_double(self._ptr, _b(key), value)
        else:
            f.obs_data_set_default_string(self._ptr, _b(key), _b(value))


log = logging.getLogger("jump.obs")
# Modified-callback trampolines, one per Python function, kept for the life of the process:
# a dialog may call them as long as it is open, and OBS never says when that ends.
_modified_callbacks: dict[Callable[..., None], object] = {}


def _modified_trampoline(fn: Callable[[Properties, Settings], None]) -> object:
    if fn not in _modified_callbacks:

        def call(props: int, _prop: int, settings: int) -> bool:
            try:
                fn(Properties(props), Settings(settings))
                return True  # the dialog re-reads visibility
            except Exception:
                log.exception("properties callback failed")
                return False

        _modified_callbacks[fn] = L.PROPERTY_MODIFIED(call)
    return _modified_callbacks[fn]


# Button trampolines, likewise one per Python function for the life of the process.
_button_callbacks: dict[Callable[[Any], None], object] = {}


def _button_trampoline(fn: Callable[[Any], None]) -> object:
    if fn not in _button_callbacks:

        def call(_props: int, _prop: int, data: int) -> bool:
            # OBS passes the source's data pointer: Jump's key for the filter instance
            try:
                inst = instance_for(data or 0)
                if inst is not None:
                    fn(inst)
                return True  # the dialog is rebuilt, so status lines refresh
            except Exception:
                log.exception("properties button failed")
                return False

        _button_callbacks[fn] = L.BUTTON_CLICKED(call)
    return _button_callbacks[fn]


class Properties:
    """Builds an obs_properties_t* in the order the user will see it (or wraps one)."""

    def __init__(self, ptr: int | None = None) -> None:
        self.ptr: int = ptr or L.fn().obs_properties_create()

    def set_visible(self, key: str, visible: bool) -> None:
        prop = L.fn().obs_properties_get(self.ptr, _b(key))
        if prop:
            L.fn().obs_property_set_visible(prop, visible)

    def on_change(self, prop: int, fn: Callable[[Properties, Settings], None]) -> None:
        """Call `fn(properties, settings)` when `prop` changes (and when the dialog opens)."""
        L.fn().obs_property_set_modified_callback(prop, _modified_trampoline(fn))

    def _describe(self, prop: int, description: str | None) -> int:
        if description:
            L.fn().obs_property_set_long_description(prop, _b(description))
        return prop

    def add_bool(self, key: str, label: str, description: str | None = None) -> int:
        return self._describe(
            L.fn().obs_properties_add_bool(self.ptr, _b(key), _b(label)), description
        )

    def add_int(
        self,
        key: str,
        label: str,
        lo: int,
        hi: int,
        step: int = 1,
        suffix: str = "",
        description: str | None = None,
    ) -> int:
        prop = L.fn().obs_properties_add_int_slider(self.ptr, _b(key), _b(label), lo, hi, step)
        if suffix:
            L.fn().obs_property_int_set_suffix(prop, _b(suffix))
        return self._describe(prop, description)

    def add_float(
        self,
        key: str,
        label: str,
        lo: float,
        hi: float,
        step: float,
        suffix: str = "",
        description: str | None = None,
    ) -> int:
        f = L.fn()
        prop = f.obs_properties_add_float_slider(self.ptr, _b(key), _b(label), lo, hi, step)
        if suffix:
            f.obs_property_float_set_suffix(prop, _b(suffix))
        return self._describe(prop, description)

    def add_list(
        self,
        key: str,
        label: str,
        options: Sequence[tuple[str, str]],
        description: str | None = None,
    ) -> int:
        """A drop-down of (label, value) string pairs."""
        f = L.fn()
        prop = f.obs_properties_add_list(
            self.ptr, _b(key), _b(label), L.OBS_COMBO_TYPE_LIST, L.OBS_COMBO_FORMAT_STRING
        )
        for text, value in options:
            f.obs_property_list_add_string(prop, _b(text), _b(value))
        return self._describe(prop, description)

    def add_path(
        self,
        key: str,
        label: str,
        file_filter: str = "",
        directory: bool = False,
        description: str | None = None,
    ) -> int:
        kind = L.OBS_PATH_DIRECTORY if directory else L.OBS_PATH_FILE
        prop = L.fn().obs_properties_add_path(
            self.ptr, _b(key), _b(label), kind, _b(file_filter) if file_filter else None, None
        )
        return self._describe(prop, description)

    def add_color(self, key: str, label: str) -> int:
        return L.fn().obs_properties_add_color(self.ptr, _b(key), _b(label))

    def add_button(
        self, key: str, label: str, fn: Callable[[Any], None], description: str | None = None
    ) -> int:
        """A push button; ``fn(filter_instance)`` runs on OBS's UI thread when it is pressed."""
        prop = L.fn().obs_properties_add_button(
            self.ptr, _b(key), _b(label), _button_trampoline(fn)
        )
        return self._describe(prop, description)

    def add_info(self, key: str, text: str) -> int:
        return L.fn().obs_properties_add_text(self.ptr, _b(key), _b(text), L.OBS_TEXT_INFO)

    def add_group(self, key: str, label: str, group: Properties) -> int:
        return L.fn().obs_properties_add_group(
            self.ptr, _b(key), _b(label), L.OBS_GROUP_NORMAL, group.ptr
        )


class AudioPacket:
    """A borrowed `struct obs_audio_data*` handed to filter_audio."""

    def __init__(self, ptr: int) -> None:
        self.ptr = ptr
        self._raw = cast(ptr, POINTER(L.obs_audio_data)).contents

    @property
    def frames(self) -> int:
        return int(self._raw.frames)

    @property
    def timestamp(self) -> int:
        return int(self._raw.timestamp)

    @timestamp.setter
    def timestamp(self, value: int) -> None:
        self._raw.timestamp = max(0, int(value))

    def planes(self, channels: int) -> list[Any]:
        """numpy float32 views of the first `channels` planes (in-place editable)."""
        import numpy as np

        n = self.frames
        out = []
        for i in range(channels):
            plane = self._raw.data[i]
            if not plane or n == 0:
                break
            out.append(np.ctypeslib.as_array(cast(plane, POINTER(c_float)), shape=(n,)))
        return out
