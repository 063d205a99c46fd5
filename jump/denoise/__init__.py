"""Jump's OBS-free denoise engine: ``Denoiser(rate, channels, settings).push(planar)``.

The names are imported lazily so that ``python -m jump --help`` does not pay for numpy
and scipy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jump.denoise.engine import Denoiser
    from jump.denoise.settings import DenoiseSettings

__all__ = ["DenoiseSettings", "Denoiser"]


def __getattr__(name: str) -> Any:
    if name == "Denoiser":
        from jump.denoise.engine import Denoiser

        return Denoiser
    if name == "DenoiseSettings":
        from jump.denoise.settings import DenoiseSettings

        return DenoiseSettings
    raise AttributeError(name)
