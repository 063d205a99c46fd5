"""Jump Matte: the OBS video filter around `jump.matte.MatteWorker`.

Per frame, on OBS's graphics thread, the filter only draws and copies:
1. draws the source downscaled on the GPU into a small "work" texture (≈2× the model input),
2. stages it into a ring of two stage surfaces and reads back last frame's copy, which the
   GPU has finished long ago, so the render thread never waits; hands it to the worker,
3. uploads the newest finished mask as an R8 texture,
4. draws the source through `effects/matte.effect`, which upsamples the mask bilinearly and
   applies it as premultiplied alpha, or composites a colour, a picture or a background
   blur that only samples background pixels (no halo).
Inference, edge refinement and temporal smoothing run in the worker's thread.
"""

from __future__ import annotations

import logging
import time
from ctypes import c_int
from pathlib import Path
from typing import Any

from jump.obs import graphics as G
from jump.obs import libobs as L
from jump.obs.data import Properties, Settings
from jump.obs.registry import FilterSpec, Source

EFFECT_FILE = Path(__file__).resolve().parent / "effects" / "matte.effect"

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
DELAY_FRAMES = 4  # frames of picture held for "delay video to match mask"

TECHNIQUES = {"transparent": "Transparent", "blur": "Blur", "color": "Color", "image": "Image"}
PREFERRED_SPACES = (c_int * 3)(L.GS_CS_SRGB, L.GS_CS_SRGB_16F, L.GS_CS_709_EXTENDED)


def engine_settings(settings: Settings) -> Any:
    from jump.matte import MatteSettings

    return MatteSettings(
        model=settings.get_str(S_MODEL) or "mediapipe",
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
    )


def linear_premultiplied(abgr: int) -> tuple[float, float, float, float]:
    """OBS colour property (0xAABBGGRR, sRGB) → premultiplied linear RGBA for the shader."""

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b, a = ((abgr >> s) & 0xFF for s in (0, 8, 16, 24))
    alpha = a / 255.0
    return lin(r / 255.0) * alpha, lin(g / 255.0) * alpha, lin(b / 255.0) * alpha, alpha


# --- state and callbacks ------------------------------------------------------------
class MatteFilter:
    def __init__(self, settings: Settings, source: Source) -> None:
        self.source = source
        self.log = logging.getLogger("jump.matte.filter")
        self.worker: Any = None
        self.models_dir: str | None = None
        self.config: Any = None
        self.technique = "Transparent"
        self.blur_px = 3.0
        self.bg_color = (0.0, 0.0, 0.0, 1.0)
        self.bg_image = ""
        # graphics objects, created lazily on the graphics thread
        self.effect: G.Effect | None = None
        self.capture: G.TexRender | None = None
        self.blur_a: G.TexRender | None = None
        self.blur_b: G.TexRender | None = None
        self.ring = G.StageRing(2)
        self.mask = G.DynamicTexture(L.GS_R8, 1)
        self.edge_colour = G.DynamicTexture(L.GS_BGRA, 4)  # decontamination, work size
        self.edge_colour_live = False
        self.picture = G.FileTexture()
        self.history = G.FrameHistory(DELAY_FRAMES)
        self.delay_video = False
        self.drawn_lag = 0  # frames between the picture drawn and the mask applied to it
        self.frame_id = 0
        self.mask_id = -1
        self.work = (0, 0)
        self.render_ms = 0.0  # moving average of this filter's own render-thread time
        self.render_calls = 0
        self.update(settings)

    def _prefix(self) -> str:
        return f"[Jump Matte: '{self.source.name}']"

    def update(self, settings: Settings) -> None:
        from jump.matte import MatteWorker

        config = engine_settings(settings)
        models_dir = settings.get_str(S_MODELS_DIR) or None
        self.technique = TECHNIQUES.get(settings.get_str(S_BACKGROUND), "Transparent")
        self.blur_px = max(1.0, settings.get_float(S_BLUR))
        self.bg_color = linear_premultiplied(settings.get_int(S_COLOR))
        self.bg_image = settings.get_str(S_IMAGE)
        self.delay_video = settings.get_bool(S_DELAY_VIDEO)
        if self.worker is None or models_dir != self.models_dir:
            old, self.worker = self.worker, MatteWorker(config, models_dir)
            if old is not None:
                old.close()
            self.log.info(
                "%s model %s, background %s", self._prefix(), config.model, self.technique.lower()
            )
        elif config != self.config:
            self.worker.update(config)
        self.config, self.models_dir = config, models_dir

    def video_tick(self, seconds: float) -> None:
        for texrender in (self.capture, self.blur_a, self.blur_b):
            if texrender is not None:
                texrender.reset()

    def video_render(self) -> None:
        start = time.perf_counter()
        try:
            if not self._render():
                self.source.skip_video_filter()
        finally:
            self.render_calls += 1
            elapsed = (time.perf_counter() - start) * 1e3
            self.render_ms += (elapsed - self.render_ms) / min(self.render_calls, 100)

    def _render(self) -> bool:
        worker = self.worker
        target = self.source.target()
        if worker is None or worker.error or not target:
            return False
        f = L.fn()
        width = f.obs_source_get_base_width(target)
        height = f.obs_source_get_base_height(target)
        if not width or not height:
            return False
        if self.effect is None:
            self.effect = G.Effect(EFFECT_FILE)
            self.capture = G.TexRender(L.GS_BGRA)
            self.blur_a = G.TexRender(L.GS_RGBA16F)
            self.blur_b = G.TexRender(L.GS_RGBA16F)

        space = f.obs_source_get_color_space(target, 3, PREFERRED_SPACES)
        self._capture(worker, target, width, height, space)
        latest = worker.latest()
        if latest is None:
            return False
        alpha, mask_id = latest
        if mask_id != self.mask_id:
            self.mask.upload(alpha)
            self.mask_id = mask_id
            colour = worker.latest_edge_colour()
            self.edge_colour_live = colour is not None and colour[0].shape[:2] == alpha.shape
            if self.edge_colour_live:
                self.edge_colour.upload(colour[0])

        effect = self.effect
        if self.technique == "Blur":
            self._blur_background()
        elif self.technique == "Image" and not self.picture.load(self.bg_image):
            return False
        held = self.history.find(mask_id) if self.delay_video else None
        if held is not None:
            self._draw_held_frame(*held)
            self.drawn_lag = 0
            return True
        self.drawn_lag = self.frame_id - mask_id
        if not f.obs_source_process_filter_begin_with_color_space(
            self.source.ptr, G.format_for_space(space), space, L.OBS_ALLOW_DIRECT_RENDERING
        ):
            return True  # OBS draws nothing this frame; skipping would draw twice
        self._set_effect_inputs()
        with G.blend(L.GS_BLEND_ONE, L.GS_BLEND_INVSRCALPHA):
            f.obs_source_process_filter_tech_end(
                self.source.ptr, effect.ptr, 0, 0, self.technique.encode()
            )
        return True

    def _set_effect_inputs(self) -> None:
        effect = self.effect
        effect.set_texture("mask", self.mask.ptr)
        live = self.edge_colour_live and bool(self.edge_colour.ptr)
        effect.set_texture("edge_colour", self.edge_colour.ptr if live else self.mask.ptr)
        effect.set_float("decontaminate", 1.0 if live else 0.0)
        if self.technique == "Blur":
            effect.set_texture("background", self.blur_b.texture())
        elif self.technique == "Image":
            effect.set_texture("background", self.picture.ptr, srgb=True)
        effect.set_vec4("bg_color", *self.bg_color)

    def _draw_held_frame(self, texture: int, size: tuple[int, int]) -> None:
        """Draw an older frame with its own mask, the way process_filter_tech_end draws
        (linear sRGB in and out, premultiplied blend)."""
        f = L.fn()
        previous_linear = f.gs_set_linear_srgb(True)
        previous_fb = f.gs_framebuffer_srgb_enabled()
        f.gs_enable_framebuffer_srgb(True)
        try:
            self.effect.set_texture("image", texture, srgb=True)
            self._set_effect_inputs()
            with G.blend(L.GS_BLEND_ONE, L.GS_BLEND_INVSRCALPHA):
                self.effect.draw(self.technique, texture, *size)
        finally:
            f.gs_enable_framebuffer_srgb(previous_fb)
            f.gs_set_linear_srgb(previous_linear)

    def _capture(self, worker: Any, target: int, width: int, height: int, space: int) -> None:
        """Draw the source small, stage it, and hand last frame's pixels to the worker."""
        work = worker.work_size(width, height)
        if work != self.work:
            self.work = work
            worker.reset()
        with self.capture.target(*work, ortho=(width, height)) as drawing:
            if not drawing:
                return  # already captured this frame (preview + program + projector)
            with G.blend(L.GS_BLEND_ONE, L.GS_BLEND_ZERO):
                G.render_source(target, self.source.parent())
        self.frame_id += 1
        if self.delay_video:
            self.history.store(self.frame_id, target, self.source.parent(), (width, height), space)
        self.ring.stage(self.capture.texture(), *work, self.frame_id)
        staged = self.ring.read_oldest()
        if staged is not None:
            worker.submit(*staged)

    def _blur_background(self) -> None:
        """Two separable passes at half work resolution, weighted by (1 − alpha).

        Half resolution makes pass 1's bilinear taps a 2×2 box prefilter of the capture,
        and taps stay at most 1.5 texels apart, so the blur has no aliasing stripes.
        """
        effect = self.effect
        bw, bh = max(1, self.work[0] // 2), max(1, self.work[1] // 2)
        step = min(1.5, 0.25 * self.blur_px)
        passes = (
            (self.blur_a, "BlurFirst", self.capture, (step / bw, 0.0)),
            (self.blur_b, "BlurNext", self.blur_a, (0.0, step / bh)),
        )
        for texrender, technique, source, uv_step in passes:
            with texrender.target(bw, bh) as drawing:
                if not drawing:
                    continue
                source_tex = source.texture()
                effect.set_texture("work", source_tex)
                effect.set_texture("mask", self.mask.ptr)
                effect.set_vec2("blur_step", *uv_step)
                with G.blend(L.GS_BLEND_ONE, L.GS_BLEND_ZERO):
                    effect.draw(technique, source_tex, bw, bh)

    def stats(self) -> dict[str, float]:
        worker_stats = self.worker.stats if self.worker is not None else None
        return {
            "render_ms": self.render_ms,
            "frames_captured": self.frame_id,
            "masks": worker_stats.masks if worker_stats else 0,
            "mask_lag_frames": self.frame_id - self.mask_id if self.mask_id >= 0 else -1,
            "drawn_lag_frames": self.drawn_lag,
            "inference_ms": worker_stats.mean_inference_ms if worker_stats else 0.0,
            "end_to_end_ms": worker_stats.mean_end_to_end_ms if worker_stats else 0.0,
        }

    def destroy(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.worker = None
        with G.graphics():
            for obj in (self.effect, self.capture, self.blur_a, self.blur_b):
                if obj is not None:
                    obj.destroy()
            self.ring.destroy()
            self.history.destroy()
            self.mask.destroy()
            self.edge_colour.destroy()
            self.picture.destroy()


class PassthroughVideo:
    """Draws the source unchanged (what runs when the engine cannot)."""

    def __init__(self, settings: Settings, source: Source) -> None:
        self.source = source

    def update(self, settings: Settings) -> None:
        pass

    def video_tick(self, seconds: float) -> None:
        pass

    def video_render(self) -> None:
        self.source.skip_video_filter()

    def destroy(self) -> None:
        pass


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
    settings.set_default(S_MODEL, d.model)
    settings.set_default(S_REFINE, bool(d.refine))
    settings.set_default(S_TEMPORAL, float(d.temporal))
    settings.set_default(S_MOTION_GATING, bool(d.motion_gating))
    settings.set_default(S_LOW_LIGHT, d.low_light)
    settings.set_default(S_PROVIDER, d.provider)
    settings.set_default(S_THREADS, int(d.threads))
    settings.set_default(S_MODELS_DIR, "")
    settings.set_default(S_DELAY_VIDEO, False)
    settings.set_default(S_DECONTAMINATE, bool(d.decontaminate))


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
    advanced.add_list(S_MODEL, "Model", [(mid, mid) for mid in matte_specs()])
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
    if isinstance(instance, MatteFilter):
        s = instance.stats()
        advanced.add_info(
            "stats",
            f"{s['masks']} masks, inference {s['inference_ms']:.1f} ms, "
            f"mask lag {s['mask_lag_frames']} frames, render {s['render_ms']:.2f} ms",
        )
    p.add_group("advanced", "Advanced", advanced)
    return p


SPEC = FilterSpec(
    id="jump_matte",
    name="Jump Matte",
    kind="video",
    factory=MatteFilter,
    defaults=defaults,
    properties=properties,
    passthrough=PassthroughVideo,
)
