"""User-facing settings of the matte engine, in units a streamer understands."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from jump.defaults import DEFAULT_MATTE_MODEL

LOW_LIGHT_MODES = ("off", "auto", "on")
# Every pixel-valued setting is in pixels of a picture this tall: the engine may only see
# the filter's downscaled work image, and the look must not change with the camera.
REFERENCE_HEIGHT = 720

# Settings whose change needs a new ONNX session; everything else applies between frames.
SESSION_KEYS = frozenset({"model", "threads", "provider", "key_every"})


@dataclass(frozen=True)
class MatteSettings:
    """How the matte is made. Defaults are the streamer-safe ones the OBS filter starts with.

    Probabilities are 0–1; pixel sizes are pixels of a 720p picture (scaled with the
    frame, so the look does not change with the camera's resolution).
    """

    model: str = DEFAULT_MATTE_MODEL
    threshold: float = 0.5  # person probability that becomes alpha 0.5
    soft_edge: float = 0.3  # width of the probability ramp around the threshold (0 = hard)
    refine: bool = True  # guided-filter edges against the picture (hair, fingers)
    refine_colour: bool = True  # colour guide (else grey: cheaper, slightly softer edges)
    refine_radius_px: float = 12.0  # guided filter window radius, pixels at 720p
    refine_eps: float = 1e-4  # guided filter regulariser: larger = smoother, less edge-snapping
    temporal: float = 0.8  # 0 = off; 1 = strongest smoothing of still regions
    motion_px: float = 6.0  # grey-level change (0–255) that counts as motion for smoothing
    motion_gating: bool = False  # skip inference while the picture is still
    gate_db: float = 42.0  # PSNR vs the last inferred frame above which a frame is "still"
    gate_max_skip: int = 15  # re-infer at least every N frames even when still
    min_blob: float = 0.002  # drop person blobs smaller than this fraction of the frame
    # Fill enclosed background holes smaller than this fraction. Off by default: whether a
    # gap is enclosed flips with one pixel (flicker), and gaps (hand on hip) are often real.
    fill_holes: float = 0.0
    feather_px: float = 0.0  # soft edge grown *outward* from the body, pixels at 720p
    # the user's corrections (jump.matte.overrides), applied after the model for every model
    grow_px: float = 0.0  # move the edge out (> 0) or in (< 0), pixels at 720p
    use_plate: bool = False  # the captured empty room overrules the model where it is sure
    plate_tolerance: float = 4.0  # "matches the room" within this many noise σ
    keep_zones: str = ""  # mask picture: white = always keep, black = always remove
    # soft-edge colour without the old background (blur fusion, jump.matte.decontaminate)
    decontaminate: bool = True
    decontaminate_radius_px: float = 8.0  # blur-fusion radius, pixels of a 720p picture
    # crop the light models' input to the subject (jump.matte.framing; not RVM)
    auto_frame: bool = True  # on: measured better, docs/benchmarks.md
    rvm_inner: int = 0  # RVM inner-pass long side in px; 0 = the manifest's (Auto lowers it)
    # > 0: the inner-size guard (jump.matte.guard): RVM also runs at this inner size on the
    # same frame and the two alphas are fused; the device path only (Auto's GPU ladder)
    rvm_guard: int = 0
    work_scale: float = 2.0  # work resolution = this × the model input (fitted to the aspect)
    low_light: str = "auto"  # "off" | "auto" (when the frame is dark) | "on"
    low_light_model: str = "gamma"  # "gamma" (classical) or a lowlight model id ("zero_dce")
    dark_level: float = 0.25  # mean luma (0–1) under which "auto" low-light kicks in
    threads: int = 2  # ONNX Runtime intra-op threads
    # > 1: the model runs on every key_every-th frame at most, its matte carried to the
    # others by optical flow (jump.matte.propagate); Auto sets it on the CPU alone
    key_every: int = 1
    provider: str = "auto"  # "auto" | "cpu" | "cuda" | "tensorrt" | "dml" | "coreml"

    def __post_init__(self) -> None:
        # Clamp instead of raising: values come from an OBS properties dialog.
        def clamp(name: str, lo: float, hi: float) -> None:
            value = float(getattr(self, name))
            if value != value:  # NaN
                value = lo
            object.__setattr__(self, name, min(hi, max(lo, value)))

        clamp("threshold", 0.01, 0.99)
        clamp("soft_edge", 0.0, 1.0)
        clamp("refine_radius_px", 1.0, 64.0)
        clamp("refine_eps", 1e-6, 1.0)
        clamp("temporal", 0.0, 1.0)
        clamp("motion_px", 0.5, 255.0)
        clamp("gate_db", 20.0, 80.0)
        clamp("min_blob", 0.0, 0.5)
        clamp("fill_holes", 0.0, 0.5)
        clamp("feather_px", 0.0, 200.0)
        clamp("grow_px", -100.0, 100.0)
        clamp("plate_tolerance", 0.5, 50.0)
        clamp("work_scale", 1.0, 8.0)
        clamp("dark_level", 0.0, 1.0)
        object.__setattr__(self, "gate_max_skip", max(1, int(self.gate_max_skip)))
        inner = int(self.rvm_inner) if self.rvm_inner == self.rvm_inner else 0
        object.__setattr__(self, "rvm_inner", 0 if inner <= 0 else max(64, min(2048, inner)))
        guard = int(self.rvm_guard) if self.rvm_guard == self.rvm_guard else 0
        object.__setattr__(self, "rvm_guard", 0 if guard <= 0 else max(64, min(2048, guard)))
        object.__setattr__(self, "threads", max(1, min(64, int(self.threads))))
        object.__setattr__(self, "key_every", max(1, min(30, int(self.key_every))))
        if self.low_light not in LOW_LIGHT_MODES:
            object.__setattr__(self, "low_light", "off")

    def with_(self, **changes: Any) -> MatteSettings:
        return replace(self, **changes)

    def needs_new_session(self, other: MatteSettings) -> bool:
        return any(getattr(self, k) != getattr(other, k) for k in SESSION_KEYS)
