"""Jump Matte's settings: OBS keys, defaults, the properties dialog, and the engine settings
they map to. No graphics and no engine here."""

from __future__ import annotations

from typing import Any

from jump.defaults import MATTE_MODEL
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
# tuning and room corrections (issue 13)
S_VIEW = "view"
# Every pixel-valued setting is in pixels of a 720p picture (jump.matte.engine's
# REFERENCE_HEIGHT). Grow/shrink was saved in 1080p pixels under "grow_px" before; a scene
# collection holding that key is converted on load (``migrate``), so its look stays.
S_GROW = "grow_px_720p"
S_GROW_1080P = "grow_px"
S_MIN_BLOB = "min_blob_pct"  # percent of the frame in the dialog; a fraction in the engine
S_USE_PLATE = "use_plate"
S_PLATE_TOLERANCE = "plate_tolerance"
S_KEEP_ZONES = "keep_zones"
B_CAPTURE_PLATE = "capture_plate"  # a button, not a setting
PLATE_SECONDS = 3.0  # how long "Capture empty room" records
S_DECONTAMINATE = "decontaminate"
S_AUTO_FRAME = "auto_frame"
S_DELAY_MS = "delay_ms"
DELAY_MS = (100, 250)  # "delay video": default and most; 100 ms = 3 frames at 30 fps

TECHNIQUES = {"transparent": "Transparent", "blur": "Blur", "color": "Color", "image": "Image"}
# view → shader technique; None = the chosen background (the normal output)
VIEWS = {"result": None, "mask": "Mask", "overlay": "Overlay"}
PREFERRED_SPACES = (L.GS_CS_SRGB, L.GS_CS_SRGB_16F, L.GS_CS_709_EXTENDED)


def migrate(settings: Settings) -> None:
    """Bring settings saved by an older Jump to today's keys and units (on every update:
    a scene collection may be loaded at any time). Grow/shrink: 1080p → 720p pixels."""
    if settings.has_user_value(S_GROW_1080P):
        if not settings.has_user_value(S_GROW):
            settings.set_float(S_GROW, settings.get_float(S_GROW_1080P) * 720.0 / 1080.0)
        settings.erase(S_GROW_1080P)


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
        grow_px=settings.get_float(S_GROW),
        min_blob=settings.get_float(S_MIN_BLOB) / 100.0,
        use_plate=settings.get_bool(S_USE_PLATE),
        plate_tolerance=settings.get_float(S_PLATE_TOLERANCE),
        keep_zones=settings.get_str(S_KEEP_ZONES),
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
    settings.set_default(S_MODEL, MATTE_MODEL["filter"])  # follows the machine (jump.matte.auto)
    settings.set_default(S_REFINE, bool(d.refine))
    settings.set_default(S_TEMPORAL, float(d.temporal))
    settings.set_default(S_MOTION_GATING, bool(d.motion_gating))
    settings.set_default(S_LOW_LIGHT, d.low_light)
    settings.set_default(S_PROVIDER, d.provider)
    settings.set_default(S_THREADS, int(d.threads))
    settings.set_default(S_MODELS_DIR, "")
    settings.set_default(S_DELAY_VIDEO, False)
    settings.set_default(S_DELAY_MS, DELAY_MS[0])
    settings.set_default(S_VIEW, "result")
    settings.set_default(S_GROW, float(d.grow_px))
    settings.set_default(S_MIN_BLOB, float(d.min_blob) * 100.0)
    settings.set_default(S_USE_PLATE, bool(d.use_plate))
    settings.set_default(S_PLATE_TOLERANCE, float(d.plate_tolerance))
    settings.set_default(S_KEEP_ZONES, "")
    settings.set_default(S_DECONTAMINATE, bool(d.decontaminate))
    settings.set_default(S_AUTO_FRAME, bool(d.auto_frame))


def model_choices(model_ids: Any) -> list[tuple[str, str]]:
    """Auto first, then the named choices, then every other model by its id."""
    from jump.matte.auto import CARRIED, model_of

    named = [
        ("Auto (best the machine keeps up with)", "auto"),
        ("Best quality (RVM)", "rvm"),
        ("RVM on a CPU (every 3rd frame, carried by motion)", CARRIED),
        ("Fast (MediaPipe)", "mediapipe"),
    ]
    ids = list(model_ids)
    out = [(label, m) for label, m in named if m == "auto" or model_of(m) in ids]
    return out + [(mid, mid) for mid in ids if mid not in ("rvm", "mediapipe")]


def show_background_settings(props: Properties, settings: Settings) -> None:
    """Only the chosen background mode's own settings are shown."""
    mode = settings.get_str(S_BACKGROUND)
    props.set_visible(S_BLUR, mode == "blur")
    props.set_visible(S_COLOR, mode == "color")
    props.set_visible(S_IMAGE, mode == "image")


def tuning_properties() -> Properties:
    t = Properties()
    t.add_list(
        S_VIEW,
        "View",
        [
            ("Result", "result"),
            ("Mask (black and white)", "mask"),
            ("Overlay (cut-away tinted)", "overlay"),
        ],
        "For tuning the settings, not for streaming: Mask shows the matte as black (removed) "
        "and white (kept); Overlay shows the picture with what is cut away tinted red. "
        "Set it back to Result before you go live.",
    )
    t.add_float(
        S_GROW,
        "Grow / shrink edge",
        -40.0,
        40.0,
        0.5,
        " px",
        "Moves the edge outward (positive) or into the body (negative). Like every size "
        "here, in pixels of a 720p picture: the look is the same whatever the camera's "
        "resolution.",
    )
    t.add_float(
        S_MIN_BLOB,
        "Remove specks smaller than",
        0.0,
        5.0,
        0.05,
        " %",
        "Fades out detached person-coloured blobs smaller than this share of the frame "
        "(the largest one always stays). 0 keeps every blob. Segmentation models only: "
        "RVM's matte is used as it comes.",
    )
    return t


def capture_plate(instance: Any) -> None:
    """The "Capture empty room" button (UI thread): the worker records the next frames."""
    instance.capture_plate(PLATE_SECONDS)


def plate_status(instance: Any) -> str:
    status = instance.plate_status() if hasattr(instance, "plate_status") else ""
    return status or "No empty room captured yet."


def room_properties(instance: Any) -> Properties:
    r = Properties()
    r.add_button(
        B_CAPTURE_PLATE,
        "Capture empty room",
        capture_plate,
        f"Step out of the picture, press, and stay out for {PLATE_SECONDS:g} seconds: the "
        "filter learns the empty room and its camera noise.",
    )
    r.add_info("plate_status", plate_status(instance))
    r.add_bool(
        S_USE_PLATE,
        "Use the empty room",
        "Where the picture matches the captured room it is background (a poster or chair "
        "the model takes for a person stays out); where it differs strongly it is kept (a "
        "held object the model drops stays in). Elsewhere the model decides. Capture "
        "again when the light or the camera changes.",
    )
    r.add_float(
        S_PLATE_TOLERANCE,
        "Room match tolerance",
        1.0,
        20.0,
        0.5,
        " × noise",
        "How far from the captured room a pixel may be and still count as the room, in "
        "units of the camera noise learnt at capture. Higher: more is removed as room.",
    )
    r.add_path(
        S_KEEP_ZONES,
        "Keep zones image",
        "Images (*.png *.jpg *.jpeg *.bmp *.webp)",
        description="A black/white/grey picture the size of the camera (stretched to "
        "fit): white = always keep (mic arm, product), black = always remove, grey = the "
        "model decides.",
    )
    return r


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
        "Softens the edge outward from the body, never into it (pixels of a 720p picture).",
    )
    p.add_group("tuning", "Tuning", tuning_properties())
    p.add_group("room", "Room: clean plate and keep zones", room_properties(instance))
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
        "Draws the picture a fixed time late, each frame with the mask computed from it: "
        "no edge lag on fast motion. Jump Denoise on this source delays its audio to match; "
        "delay a mic in another source by the same time with its Sync Offset.",
    )
    advanced.add_int(
        S_DELAY_MS,
        "Video delay",
        0,
        DELAY_MS[1],
        suffix=" ms",
        description="At least the mask lag shown below; frames whose mask is later than "
        "this are drawn with the newest earlier mask.",
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
            f"mask lag {s['mask_lag_frames']} frames ({s['mask_lag_ms']:.0f} ms), "
            f"render {s['render_ms']:.2f} ms",
        )
    p.add_group("advanced", "Advanced", advanced)
    return p
