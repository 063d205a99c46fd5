"""Jump Matte: the OBS video filter around `jump.matte.MatteWorker`.

Per frame, on OBS's graphics thread, the filter only draws and copies:
1. an async source (webcam, media): the frame of this tick's ``filter_video`` is copied
   for the worker; any other source: the small capture of 2. is staged and last frame's
   copy read back (``matte_frames.FrameFeed``); the render thread never waits,
2. draws the source downscaled on the GPU into a small "work" texture (≈2× the model input),
3. uploads the newest finished mask as an R8 texture,
4. draws the source through `effects/matte.effect`, which upsamples the mask bilinearly and
   applies it as premultiplied alpha (soft edges decontaminated by blur fusion in the
   shader, `matte_fusion`), or composites a colour, a picture or a background
   blur that only samples background pixels (no halo).
Inference, edge refinement and temporal smoothing run in the worker's thread.
"""

from __future__ import annotations

import math
import time
from collections import deque
from functools import partial
from pathlib import Path
from typing import Any

from jump.filters import av_sync
from jump.filters.base import JumpFilter, Passthrough
from jump.filters.matte_frames import FrameFeed, mask_for
from jump.filters.matte_fusion import Fusion
from jump.filters.matte_settings import (
    DELAY_MS,
    PREFERRED_SPACES,
    S_BACKGROUND,
    S_BLUR,
    S_COLOR,
    S_DECONTAMINATE,
    S_DELAY_MS,
    S_DELAY_VIDEO,
    S_IMAGE,
    S_MODELS_DIR,
    S_VIEW,
    TECHNIQUES,
    VIEWS,
    defaults,
    engine_settings,
    linear_premultiplied,
    migrate,
    properties,
)
from jump.obs import graphics as G
from jump.obs import libobs as L
from jump.obs.data import Settings
from jump.obs.registry import VIDEO_FILTER, FilterSpec
from jump.obs.source import Source, output_fps

EFFECT_FILE = Path(__file__).resolve().parent / "effects" / "matte.effect"


# --- state and callbacks ------------------------------------------------------------
class MatteFilter(JumpFilter):
    title = "Jump Matte"

    def __init__(self, settings: Settings, source: Source) -> None:
        super().__init__(source, "jump.matte.filter")
        self.technique = "Transparent"
        self.view: str | None = None  # "Mask" / "Overlay" tuning technique, None = result
        self.blur_px = 3.0
        self.bg_color = (0.0, 0.0, 0.0, 1.0)
        self.bg_image = ""
        self.decontaminate = True
        # graphics objects, created lazily on the graphics thread
        self.effect: G.Effect | None = None
        self.capture: G.TexRender | None = None
        self.blur_a: G.TexRender | None = None
        self.blur_b: G.TexRender | None = None
        self.fusion: Fusion | None = None
        self.mask = G.DynamicTexture(L.GS_R8, 1)
        self.picture = G.FileTexture()
        self.history = G.FrameHistory(0)
        # the newest masks, (frame id, alpha), so that a held frame ("delay video", or the
        # async frame held a tick) is drawn with its own mask, not a newer one
        self.masks: deque[tuple[int, Any]] = deque(maxlen=2)
        self.delay_video = False
        self.delay_ns = DELAY_MS[0] * 1_000_000
        self.drawn_lag = 0  # frames between the picture drawn and the mask applied to it
        self.held_age_ms = -1.0
        self.frame_id = 0
        self.mask_id = -1  # the mask in the texture
        self.newest_mask = -1  # the worker's newest
        self.fps = output_fps()
        self.work = (0, 0)
        self.feed = FrameFeed(self.log, self._prefix)
        self.stored_id = -1  # the newest frame id in the "delay video" history
        self.render_ms = 0.0  # moving average of this filter's own render-thread time
        self.render_calls = 0
        self.update(settings)

    def update(self, settings: Settings) -> None:
        migrate(settings)  # a scene collection saved by an older Jump: same look
        self.technique = TECHNIQUES.get(settings.get_str(S_BACKGROUND), "Transparent")
        self.blur_px = max(1.0, settings.get_float(S_BLUR))
        self.bg_color = linear_premultiplied(settings.get_int(S_COLOR))
        self.bg_image = settings.get_str(S_IMAGE)
        self.decontaminate = settings.get_bool(S_DECONTAMINATE)
        self.delay_video = settings.get_bool(S_DELAY_VIDEO)
        delay_ms = min(max(settings.get_int(S_DELAY_MS), 0), DELAY_MS[1])
        self.delay_ns = delay_ms * 1_000_000
        # frames held: the delay, one to pick between, one being drawn (the history is
        # resized on the graphics thread, which owns its textures)
        self.held_frames = math.ceil(delay_ms * self.fps / 1000) + 2 if self.delay_video else 0
        self.view = VIEWS.get(settings.get_str(S_VIEW))
        from jump.matte import MatteWorker  # here: the module imports without numpy

        # the worker's own constructor, so the model choice goes on into jump.matte alone
        make = partial(MatteWorker, fps=self.fps)
        self.apply(engine_settings(settings), settings.get_str(S_MODELS_DIR) or None, make)
        if self.worker is not None:
            self.worker.set_display_lead(self._display_lead())

    def _display_lead(self) -> int:
        """Frames between a mask's picture and the one it is drawn on (the worker's lead)."""
        from jump.matte.worker import HELD_FRAMES, display_lead

        path = self.feed.frames_from
        delay = round(self.delay_ns * self.fps / 1e9) if self.delay_video else HELD_FRAMES[path]
        return display_lead(delay, path)

    @property
    def worker(self) -> Any:
        """The ``MatteWorker``: the matte engine on its own thread (None once destroyed)."""
        return self._backend

    def release(self, backend: Any) -> None:
        backend.close()

    def capture_plate(self, seconds: float) -> None:
        """Learn the empty room from the next ``seconds`` of frames (on the worker)."""
        if self.worker is not None:
            # the frames OBS draws in that time (self.fps: its output rate, measured)
            self.worker.capture_plate(frames=round(seconds * self.fps), seconds=seconds)
            self.log.info("%s capturing the empty room for %g s", self._prefix(), seconds)

    def plate_status(self) -> str:
        overrides = getattr(self.worker, "overrides", None)
        if overrides is None:
            return ""
        if overrides.capturing:
            return "Capturing the empty room… (reopen to refresh)"
        plate = overrides.plate
        if plate is None:
            return ""
        w, h = plate.size
        return f"Empty room captured: {w}×{h}, {plate.frames} frames."

    def describe(self) -> str:
        return f"model {self.config.model}, background {self.technique.lower()}"

    def running(self) -> str:
        """The model that runs now ("rvm 448 px (auto)"), for the stats line."""
        worker = self.worker
        return worker.running if worker is not None else self.config.model

    def video_tick(self, seconds: float) -> None:
        for texrender in (self.capture, self.blur_a, self.blur_b):
            if texrender is not None:
                texrender.reset()
        if self.fusion is not None:
            self.fusion.reset()

    def filter_video(self, frame: Any) -> bool:
        """An async source's frame of this tick (graphics thread, the source's async mutex
        held): numbered and copied, never converted. True: OBS draws it a tick later, when
        its mask is done (``jump.obs.frame_hold``); "delay video" holds frames itself."""
        worker = self.worker
        if worker is None or worker.error or not self.feed.wants_async(self.source):
            return self.feed.hand_back(self.frame_id, False)
        taken = self.feed.take(frame, worker, self.frame_id + 1)
        self.frame_id += taken
        return self.feed.hand_back(self.frame_id, taken and not self.delay_video)

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
        if worker is None or worker.error or target is None:
            return False
        width, height = target.base_size()
        if not width or not height:
            return False
        if self.effect is None:
            self.effect = G.Effect(EFFECT_FILE)
            self.capture = G.TexRender(L.GS_BGRA)
            self.blur_a = G.TexRender(L.GS_RGBA16F)
            self.blur_b = G.TexRender(L.GS_RGBA16F)
            self.fusion = Fusion()

        space = target.color_space(PREFERRED_SPACES)
        self._capture(worker, target, width, height, space)
        newest = worker.newest()
        if newest is None:  # not drawn until the first mask: the room stays hidden
            return True
        alpha, mask_id = newest
        if mask_id != self.newest_mask:
            self.newest_mask = mask_id
            self.masks.append((mask_id, alpha))

        held = None
        if self.delay_video:
            # the frame from `delay` ago (to the nearest frame), with its own mask
            now_ns, half_frame = G.frame_time_ns(), int(5e8 / self.fps)
            masked = {m[0] for m in self.masks}
            held = self.history.at(now_ns - self.delay_ns + half_frame, masked)
            if held is not None:
                self.held_age_ms = (now_ns - held[3]) / 1e6
        late_ns = self.delay_ns if held is not None else self.feed.held_ns(self.fps)
        av_sync.publish(self.source.parent(), late_ns)
        drawn_id = self.feed.drawn_id(self.frame_id) if held is None else held[2]
        self._use_mask(mask_for(self.masks, drawn_id))
        self.drawn_lag = drawn_id - self.mask_id

        effect = self.effect
        technique = self.view or self.technique
        if self.decontaminate and technique in TECHNIQUES.values():
            # the means come from the picture drawn: a held frame's own pixels go with its
            # own mask (8-bit sRGB, as the work capture; an HDR frame keeps the capture's)
            own = held is not None and space == L.GS_CS_SRGB
            picture = held[0] if own else self.capture.texture()
            self.fusion.render(effect, picture, self.mask, self.work)
        if technique == "Blur":
            self._blur_background()
        elif technique == "Image" and not self.picture.load(self.bg_image):
            return False
        if held is not None:
            self._draw_held_frame(technique, *held[:2])
            return True
        if not G.filter_begin(self.source, space):
            return True  # OBS draws nothing this frame; skipping would draw twice
        self._set_effect_inputs()
        with G.blend(L.GS_BLEND_ONE, L.GS_BLEND_INVSRCALPHA):
            G.filter_end(self.source, effect, technique)
        return True

    def video_get_color_space(self, preferred: tuple[int, ...]) -> int:
        """The target's colour space: HDR and 16-bit sources stay so through the filter."""
        return self.source.target_color_space(preferred)

    def _use_mask(self, mask: tuple[int, Any]) -> None:
        mask_id, alpha = mask
        if mask_id == self.mask_id:
            return
        self.mask.upload(alpha)
        self.mask_id = mask_id

    def _set_effect_inputs(self) -> None:
        effect = self.effect
        effect.set_texture("mask", self.mask)
        live = self.decontaminate and self.fusion.ready
        if live:
            self.fusion.bind(effect)
        effect.set_float("decontaminate", 1.0 if live else 0.0)
        if self.technique == "Blur":
            effect.set_texture("background", self.blur_b.texture())
        elif self.technique == "Image":
            effect.set_texture("background", self.picture, srgb=True)
        effect.set_vec4("bg_color", *self.bg_color)

    def _draw_held_frame(self, technique: str, texture: int, size: tuple[int, int]) -> None:
        """Draw an older frame with its own mask, the way process_filter_tech_end draws
        (linear sRGB in and out, premultiplied blend)."""
        with G.linear_srgb():
            self.effect.set_texture("image", texture, srgb=True)
            self._set_effect_inputs()
            with G.blend(L.GS_BLEND_ONE, L.GS_BLEND_INVSRCALPHA):
                self.effect.draw(technique, texture, *size)

    def _capture(self, worker: Any, target: Source, width: int, height: int, space: int) -> None:
        """Draw the source small (blur, fusion); staged: hand last frame's to the worker."""
        staged = self.feed.path(self.source, worker, self._display_lead) == "staged"
        work = worker.work_size(width, height)
        if work != self.work:
            self.work = work
            worker.reset()
        with self.capture.target(*work, ortho=(width, height)) as drawing:
            if not drawing:
                return  # already captured this frame (preview + program + projector)
            with G.blend(L.GS_BLEND_ONE, L.GS_BLEND_ZERO):
                G.render_source(target, self.source.parent())
        if staged:
            self.frame_id += 1  # async frames are numbered in filter_video
        if len(self.history.renders) != self.held_frames:
            self.history.resize(self.held_frames)
            self.masks = deque(self.masks, maxlen=self.held_frames + 2)
            self.stored_id = -1
        if self.delay_video and self.frame_id != self.stored_id:
            # held once, at its first render (an async frame may be drawn again)
            when, parent = G.frame_time_ns(), self.source.parent()
            self.history.store(self.frame_id, when, target, parent, (width, height), space)
            self.stored_id = self.frame_id
        if staged:
            self.feed.stage(self.capture.texture(), work, self.frame_id, worker)

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
                effect.set_texture("mask", self.mask)
                effect.set_vec2("blur_step", *uv_step)
                with G.blend(L.GS_BLEND_ONE, L.GS_BLEND_ZERO):
                    effect.draw(technique, source_tex, bw, bh)

    def stats(self) -> dict[str, float]:
        worker_stats = self.worker.stats if self.worker is not None else None
        lag = self.frame_id - self.newest_mask if self.newest_mask >= 0 else -1
        return {
            "running": self.running(),
            "frames_from": self.feed.frames_from,
            "copy_ms": self.feed.copy_ms,  # filter_video's, also on the graphics thread
            "render_ms": self.render_ms,
            "frames_captured": self.frame_id,
            "masks": worker_stats.masks if worker_stats else 0,
            "mask_lag_frames": lag,
            "mask_lag_ms": lag * 1000.0 / self.fps if lag >= 0 else -1.0,
            "delay_ms": self.delay_ns / 1e6 if self.delay_video else 0.0,
            "held_ms": self.feed.held_ns(self.fps) / 1e6,  # an async frame drawn a tick late
            "drawn_lag_frames": self.drawn_lag,
            "held_age_ms": self.held_age_ms,  # how late the picture drawn last was
            "inference_ms": worker_stats.mean_inference_ms if worker_stats else 0.0,
            "end_to_end_ms": worker_stats.mean_end_to_end_ms if worker_stats else 0.0,
        }

    def destroy(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None
        with G.graphics():
            for obj in (self.effect, self.capture, self.blur_a, self.blur_b, self.fusion):
                if obj is not None:
                    obj.destroy()
            self.feed.destroy()
            self.history.destroy()
            self.mask.destroy()
            self.picture.destroy()


class PassthroughVideo(Passthrough):
    def video_tick(self, seconds: float) -> None:
        pass

    def filter_video(self, frame: Any) -> bool:
        return False  # the registry hands OBS its frame back (and any kept one)

    def video_render(self) -> None:
        self.source.skip_video_filter()

    def video_get_color_space(self, preferred: tuple[int, ...]) -> int:
        return self.source.target_color_space(preferred)


# --- the callback table (OBS's obs_source_info, field by field) -----------------------
SPEC = FilterSpec(
    id="jump_matte",
    name=MatteFilter.title,
    output_flags=VIDEO_FILTER,
    create=MatteFilter,
    create_passthrough=PassthroughVideo,
    get_defaults=defaults,
    get_properties=properties,
    update=MatteFilter.update,
    destroy=MatteFilter.destroy,
    filter_video=MatteFilter.filter_video,
    video_tick=MatteFilter.video_tick,
    video_render=MatteFilter.video_render,
    video_get_color_space=MatteFilter.video_get_color_space,
)
