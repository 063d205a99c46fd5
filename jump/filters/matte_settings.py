"""Jump Matte's settings: OBS keys, defaults, the properties dialog, and the engine settings
they map to. No graphics and no engine here."""

from __future__ import annotations

from ctypes import c_int
from typing import Any

from jump.obs import libobs as L
from jump.obs.data import Properties, Settings

# --- setting keys -------------------------------------------------------------------
S_BACKGROUND = "background"
S_BLUR = "blur_strength"
S_COLOR = "bg_color"
S_IMAGE = "bg_image"
S_THRESHOLD = "threshold"
S_SOFT_EDGE = "soft_edge"
S_FEATHER = "feather_px"
S_MODEL = "model"
S_REFINE = "refine"
S_TEMPORAL = "temporal"
S_MOTION_GATING = "motion_gating"
S_LOW_LIGHT = "low_light"
S_PROVIDER = "provider"
S_THREADS = "threads"
S_MODELS_DIR = "models_dir"
S_DELAY_VIDEO = "delay_video"
S_DECONTAMINATE = "decontaminate"
S_AUTO_FRAME = "auto_frame"
DELAY_FRAMES = 4  # frames of picture held for "delay video to match mask"

TECHNIQUES = {"transparent": "Transparent", "blur": "Blur", "color": "Color", "image": "Image"}
PREFERRED_SPACES = (c_int * 3)(L.GS_CS_SRGB, L.GS_CS_SRGB_16F, L.GS_CS_709_EXTENDED)


def engine_settings(settings: Settings) -> Any:
    from jump.matte import MatteSettings

    return MatteSettings(
        model=settings.get_str(S_MODEL) or MatteSettings.model,
        threshold=settings.get_float(S_THRESHOLD),
        soft_edge=settings.get_float(S_SOFT_EDGE),
        feather_px=settings.get_float(S_FEATHER),
        refine=settings.get_bool(S_REFINE),
        temporal=settings.get_float(S_TEMPORAL),
        motion_gating=settings.get_bool(S_MOTION_GATING),
        low_light=settings.get_str(S_LOW_LIGHT) or "off",
        provider=settings.get_str(S_PROVIDER) or "auto",
        threads=settings.get_int(S_THREADS),
        decontaminate=settings.get_bool(S_DECONTAMINATE),
        auto_frame=settings.get_bool(S_AUTO_FRAME),
    )


def linear_premultiplied(abgr: int) -> tuple[float, float, float, float]:
    """OBS colour property (0xAABBGGRR, sRGB) → premultiplied linear RGBA for the shader."""

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b, a = ((abgr >> s) & 0xFF for s in (0, 8, 16, 24))
    alpha = a / 255.0
    return lin(r / 255.0) * alpha, lin(g / 255.0) * alpha, lin(b / 255.0) * alpha, alpha


# --- defaults and properties ----------------------------------------------------------
def defaults(settings: Settings) -> None:
    from jump.matte import MatteSettings

    d = MatteSettings()
    settings.set_default(S_BACKGROUND, "transparent")
    settings.set_default(S_BLUR, 6.0)
    settings.set_default(S_COLOR, 0xFF00B140)  # chroma green, if someone wants to key it
    settings.set_default(S_IMAGE, "")
    settings.set_default(S_THRESHOLD, float(d.threshold))
    settings.set_default(S_SOFT_EDGE, float(d.soft_edge))
    settings.set_default(S_FEATHER, float(d.feather_px))
    settings.set_default(S_MODEL, "auto")  # the filter follows the machine (jump.matte.auto)
    settings.set_default(S_REFINE, bool(d.refine))
    settings.set_default(S_TEMPORAL, float(d.temporal))
    settings.set_default(S_MOTION_GATING, bool(d.motion_gating))
    settings.set_default(S_LOW_LIGHT, d.low_light)
    settings.set_default(S_PROVIDER, d.provider)
    settings.set_default(S_THREADS, int(d.threads))
    settings.set_default(S_MODELS_DIR, "")
    settings.set_default(S_DELAY_VIDEO, False)
    settings.set_default(S_DECONTAMINATE, bool(d.decontaminate))
    settings.set_default(S_AUTO_FRAME, bool(d.auto_frame))


def model_choices(model_ids: Any) -> list[tuple[str, str]]:
    """Auto first, then the named choices, then every other model by its id."""
    named = [
        ("Auto (best the machine keeps up with)", "auto"),
        ("Best quality (RVM)", "rvm"),
        ("Fast (MediaPipe)", "mediapipe"),
    ]
    ids = list(model_ids)
    out = [(label, mid) for label, mid in named if mid == "auto" or mid in ids]
    return out + [(mid, mid) for mid in ids if mid not in ("rvm", "mediapipe")]


def show_background_settings(props: Properties, settings: Settings) -> None:
    """Only the chosen background mode's own settings are shown."""
    mode = settings.get_str(S_BACKGROUND)
    props.set_visible(S_BLUR, mode == "blur")
    props.set_visible(S_COLOR, mode == "color")
    props.set_visible(S_IMAGE, mode == "image")


def properties(instance: Any) -> Properties:
    from jump.matte.model import matte_specs

    p = Properties()
    background = p.add_list(
        S_BACKGROUND,
        "Background",
        [("Transparent", "transparent"), ("Blur", "blur"), ("Colour", "color"), ("Image", "image")],
    )
    p.add_float(S_BLUR, "Blur strength", 1.0, 6.0, 0.5, description="Blur background mode.")
    p.add_color(S_COLOR, "Background colour")
    p.add_path(S_IMAGE, "Background image", "Images (*.png *.jpg *.jpeg *.bmp *.webp)")
    p.on_change(background, show_background_settings)
    p.add_float(
        S_THRESHOLD,
        "Threshold",
        0.05,
        0.95,
        0.01,
        description="Person probability that becomes the edge of the cut-out.",
    )
    p.add_float(S_SOFT_EDGE, "Edge softness", 0.0, 1.0, 0.01)
    p.add_float(
        S_FEATHER,
        "Feather (outward)",
        0.0,
        40.0,
        0.5,
        " px",
        "Softens the edge outward from the body, never into it.",
    )
    advanced = Properties()
    advanced.add_list(S_MODEL, "Model", model_choices(matte_specs()))
    advanced.add_bool(S_REFINE, "Refine edges (hair, fingers)")
    advanced.add_bool(
        S_DECONTAMINATE,
        "Clean edge colours",
        "Removes the room's colour from hair and soft edges over the new background.",
    )
    advanced.add_float(
        S_TEMPORAL,
        "Temporal smoothing",
        0.0,
        1.0,
        0.05,
        description="Removes flicker where the picture is still; follows motion.",
    )
    advanced.add_bool(S_MOTION_GATING, "Skip inference on still frames")
    advanced.add_bool(
        S_AUTO_FRAME,
        "Auto-framing (light models)",
        "Zooms the model in on the person it found last frame: a small or distant person "
        "fills the model's view. Not used with RVM.",
    )
    advanced.add_bool(
        S_DELAY_VIDEO,
        "Delay video to match mask",
        f"Holds the picture back (up to {DELAY_FRAMES - 1} frames) so it is drawn with the mask "
        "computed from it: no edge lag on fast motion. Delay audio to match with the source's "
        "Sync Offset.",
    )
    advanced.add_list(
        S_LOW_LIGHT, "Low-light assist", [("Off", "off"), ("When dark", "auto"), ("Always", "on")]
    )
    advanced.add_list(
        S_PROVIDER,
        "Device",
        [
            ("Automatic", "auto"),
            ("CPU", "cpu"),
            ("CUDA", "cuda"),
            ("TensorRT", "tensorrt"),
            ("DirectML", "dml"),
            ("CoreML", "coreml"),
        ],
    )
    advanced.add_int(S_THREADS, "CPU threads", 1, 8)
    advanced.add_path(S_MODELS_DIR, "Model folder", directory=True)
    if hasattr(instance, "stats") and hasattr(instance, "render_ms"):
        s = instance.stats()
        advanced.add_info(
            "stats",
            f"{s['running']}: {s['masks']} masks, inference {s['inference_ms']:.1f} ms, "
            f"mask lag {s['mask_lag_frames']} frames, render {s['render_ms']:.2f} ms",
        )
    p.add_group("advanced", "Advanced", advanced)
    return p
