"""Jump's OBS-free denoise engine: ``Denoiser(rate, channels, settings).push(planar)``."""

from jump.denoise.engine import Denoiser
from jump.denoise.settings import DenoiseSettings

__all__ = ["DenoiseSettings", "Denoiser"]
