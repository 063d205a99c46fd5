"""The two OBS filters: glue between `jump.obs` and the engines (no DSP or inference here)."""

from __future__ import annotations


def register_all() -> list[str]:
    """Register Jump Matte and Jump Denoise; returns the names registered."""
    from jump.filters import denoise, matte
    from jump.obs.registry import register_filter

    return [spec.name for spec in (matte.SPEC, denoise.SPEC) if register_filter(spec)]
