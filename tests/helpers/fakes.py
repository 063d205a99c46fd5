"""Stand-ins for what OBS hands the filters, for unit tests of the glue without OBS."""

from __future__ import annotations


class FakeSettings:
    """``jump.obs.data.Settings`` over a dict: the getters the filters use, and
    ``set_default`` so a filter's ``defaults`` can fill it."""

    def __init__(self, values: dict | None = None) -> None:
        self.values = dict(values or {})

    def set_default(self, key, value) -> None:
        self.values[key] = value

    def get_str(self, key):
        return str(self.values.get(key, ""))

    def set_str(self, key, value) -> None:
        self.values[key] = value

    def get_float(self, key):
        return float(self.values.get(key, 0.0))

    def get_int(self, key):
        return int(self.values.get(key, 0))

    def get_bool(self, key):
        return bool(self.values.get(key, False))
