"""Live mode: a clip played through the filter's own worker in real time, as OBS feeds it.

``python -m jump matte IN.mp4 OUT --live [--fps N]`` ends up here. One frame every 1/N s
on the wall clock, exactly the filter's hand-over for a webcam (``jump.filters.matte``):

- a webcam is an async source: at tick i OBS hands the filter's ``filter_video`` frame i
  in its own format, whose planes go to the worker as they are (``MatteWorker.submit``,
  latest wins) and are converted to BGRA at the work size on the worker's thread. Here
  every frame is I420, BT.709 limited range (what a webcam's MJPEG or H.264 decodes to),
  encoded before the clock starts (``jump.lab.matte.webcam_frames``), so the worker pays
  the conversion as in OBS. (``play(frames_from="staged")``: a synchronous source, whose
  filter hands the worker frame i−1, read back from the GPU, as BGRA);
- it draws frame i − 1 for a webcam (the filter gives OBS each async frame back a tick
  later, ``jump.obs.frame_hold``), frame i for a staged source, or with "delay video" the
  frame from the delay ago (falling back to its predecessor when only that one has a mask),
  with the newest mask of a frame at or before the drawn one; before the first mask the
  source is not drawn (alpha 0: the room stays hidden).

The worker is the filter's: same default settings (model "auto"), threads and priority,
and the same lead for a carried matte (``MatteWorker.set_display_lead``: 0 for a webcam,
whose picture is held a frame; 2 for a staged source without "delay video").
``jump.lab.matte.live_sim`` replays this hand-over without a clock (for figures that do
not depend on the machine's load).
Staged, what the downscale on the GPU does in OBS is done before the clock starts (every
frame at every work size Auto may ask for). Nothing is written while playing: the shown frames
are kept in memory (references to the worker's masks) and composed and written after the
last frame, so the player's thread only sleeps, submits and reads. CPU use of the worker
is the process's CPU time minus the player thread's own (``time.thread_time``).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from jump.lab.matte import webcam_frames
from jump.matte.settings import MatteSettings
from jump.matte.worker import HANDOVER_FRAMES, HELD_FRAMES, MatteWorker, display_lead

log = logging.getLogger("jump.matte")

# models Auto may switch between: their work sizes are prepared before the clock starts
WORK_MODELS = ("rvm", "mediapipe")


@dataclass
class LiveRun:
    """What the viewer saw: for every input frame, the frame drawn and its alpha."""

    drawn: list[int] = field(default_factory=list)  # index of the picture drawn at tick i
    masks: list[np.ndarray | None] = field(default_factory=list)  # None: not drawn
    wall_s: float = 0.0
    worker_cpu_s: float = 0.0
    masks_made: int = 0
    model_runs: int = 0
    late_ticks: int = 0  # ticks the player itself reached more than a frame late
    running: list[str] = field(default_factory=list)  # what Auto ran at each tick

    @property
    def worker_cores(self) -> float:
        return self.worker_cpu_s / max(1e-9, self.wall_s)

    def alpha(self, i: int, size: tuple[int, int]) -> np.ndarray:
        """The alpha shown at tick i at ``size`` (w, h): bilinear, as the shader samples."""
        m = self.masks[i]
        if m is None:
            return np.zeros(size[::-1], np.uint8)
        if m.shape[::-1] != size:
            m = cv2.resize(m, size, interpolation=cv2.INTER_LINEAR)
        return m

    def summary(self) -> str:
        n = len(self.drawn)
        return (
            f"{n} frames in {self.wall_s:.1f} s; masks {self.masks_made / self.wall_s:.1f}/s, "
            f"model runs {self.model_runs / self.wall_s:.1f}/s; worker CPU "
            f"{self.worker_cores:.2f} cores; frames not drawn "
            f"{sum(m is None for m in self.masks)}; player late {self.late_ticks} times; "
            f"ran: {', '.join(dict.fromkeys(self.running))}"
        )


def prepare(
    frames: list[np.ndarray], settings: MatteSettings
) -> dict[tuple[int, int], list[np.ndarray]]:
    """Every frame as BGRA at every work size the worker may ask for (OBS downscales on
    the GPU; here it is done before the clock starts so that it costs the worker nothing)."""
    from jump.matte.interface import work_size
    from jump.matte.model import spec_input_size

    h, w = frames[0].shape[:2]
    models = WORK_MODELS if settings.model == "auto" else (settings.model,)
    sizes = {work_size(spec_input_size(m), settings.work_scale, w, h) for m in models}
    out = {}
    for size in sizes:
        out[size] = [
            cv2.cvtColor(cv2.resize(f, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2BGRA)
            for f in frames
        ]
    return out


def play(
    frames: list[np.ndarray],
    fps: float = 30.0,
    settings: MatteSettings | None = None,
    models_dir: str | None = None,
    delay_ms: int = 0,
    frames_from: str = "async",
) -> LiveRun:
    """Play BGR ``frames`` at ``fps`` through a fresh ``MatteWorker``; ``delay_ms`` > 0 is
    the filter's "delay video"; ``frames_from``: "async" (a webcam) or "staged"."""
    settings = settings or MatteSettings(model="auto")
    h, w = frames[0].shape[:2]
    if frames_from not in HANDOVER_FRAMES:
        raise ValueError(f"frames_from: {frames_from!r}")
    if frames_from == "async":
        webcam = [webcam_frames.encode(f, "I420") for f in frames]
    else:
        work = prepare(frames, settings)
    run = LiveRun()
    interval = 1.0 / fps
    held_frames = math.ceil(delay_ms * fps / 1000) + 2 if delay_ms > 0 else 0
    masks: list[tuple[int, np.ndarray]] = []  # the filter's deque of newest masks
    hold = 0 if delay_ms > 0 else HELD_FRAMES[frames_from]  # the async frame held a tick
    keep = held_frames + 2 if delay_ms > 0 else 1 + hold
    newest_id = -1
    with MatteWorker(settings, models_dir) as worker:
        worker.set_fps(fps)
        worker.set_display_lead(display_lead(round(delay_ms * fps / 1000) or hold, frames_from))
        worker.wait_ready(60.0)
        if worker.error:
            raise RuntimeError(worker.error)
        cpu0, own0 = time.process_time(), time.thread_time()
        runs0 = worker.stats.model_runs
        t0 = time.perf_counter()
        for i in range(len(frames)):
            due = t0 + i * interval
            now = time.perf_counter()
            if now < due:
                time.sleep(due - now)
            elif now - due > interval:
                run.late_ticks += 1
            if frames_from == "async":  # filter_video hands over this tick's frame
                worker.submit(webcam[i], i)
            elif i > 0:  # the stage ring hands over last frame's copy
                size = worker.work_size(w, h)
                stack = work.get(size)
                if stack is None:  # a size not prepared (a model outside WORK_MODELS)
                    stack = work[size] = [
                        cv2.cvtColor(cv2.resize(f, size, interpolation=cv2.INTER_AREA),
                                     cv2.COLOR_BGR2BGRA) for f in frames
                    ]  # fmt: skip
                worker.submit(stack[i - 1], i - 1)
            newest = worker.newest()
            if newest is not None and newest[1] != newest_id:
                newest_id = newest[1]
                masks.append((newest[1], newest[0]))
                del masks[:-keep]
            drawn = max(0, i - hold)
            if delay_ms > 0 and masks:
                # the frame from `delay` ago (to the nearest frame), its predecessor when
                # only that one has a mask (FrameHistory.at)
                target = i - round(delay_ms * fps / 1000)
                drawn = max(0, i - held_frames + 1, target)
                ids = {m[0] for m in masks}
                if drawn not in ids and drawn - 1 in ids:
                    drawn -= 1
            run.drawn.append(drawn)
            if not masks or i < hold:  # nothing to draw yet
                run.masks.append(None)
            else:
                earlier = [m for m in masks if m[0] <= drawn]
                run.masks.append((earlier[-1] if earlier else masks[0])[1])
            run.running.append(worker.running)
        run.wall_s = time.perf_counter() - t0
        run.worker_cpu_s = (time.process_time() - cpu0) - (time.thread_time() - own0)
        run.masks_made = worker.stats.masks
        run.model_runs = worker.stats.model_runs - runs0
    return run


def command(args, settings: MatteSettings, view, codec, alpha: bool) -> int:
    """``matte IN OUT --live`` (jump/commands/matte.py has checked the arguments): play,
    then write every shown frame and print the figures."""
    from pathlib import Path

    from jump.commands import ffmpeg, safe_output
    from jump.commands.matte import DEFAULT_MODEL, _compose, _encode_args
    from jump.images import write_image
    from jump.lab.matte import moving_clips

    frames = moving_clips.read_video(args.input)
    if not frames:
        log.error("cannot read %s as a video", args.input)
        return 2
    if args.model == DEFAULT_MODEL:  # the filter's default, not the file command's
        settings = settings.with_(model="auto")
    media = ffmpeg.probe(args.input)
    v = media.of("video")[0]
    fps = args.fps or ffmpeg.fps_value(v.fps)
    run = play(frames, fps, settings, args.models, args.delay_video)
    print(f"live at {fps:g} fps: {run.summary()}")
    # written only now: the worker had the CPU to itself while playing
    h, w = frames[0].shape[:2]
    alphas = [run.alpha(i, (w, h)) for i in range(len(run.drawn))]
    shown = (_compose(frames[j], alphas[i], view) for i, j in enumerate(run.drawn))
    dst = args.output
    if codec is None:  # a picture sequence
        pattern = dst.name if "%" in dst.name else f"{dst.stem}_%05d.png"
        with safe_output.atomic_folder(dst) as folder:
            for i, out in enumerate(shown):
                write_image(folder / (pattern % i), out)
    else:
        with safe_output.atomic(dst) as tmp:
            writer = ffmpeg.VideoWriter(tmp, w, h, f"{fps:g}", alpha,
                                        _encode_args(codec, alpha, args.crf), args.input,
                                        [], dst.suffix.lower())  # fmt: skip
            for out in shown:
                writer.write(out)
            writer.close()
    truth_file = moving_clips.truth_path(Path(args.input))
    if truth_file.is_file():
        truth, cuts = moving_clips.load_truth(Path(args.input))
        shown_cuts = [i for i in range(1, len(run.drawn)) if any(
            run.drawn[i - 1] < c <= run.drawn[i] for c in cuts)]  # fmt: skip
        scores = moving_clips.score(alphas, truth[run.drawn], shown_cuts)
        print(f"against the truth of the frames shown: {moving_clips.format_scores(scores)}")
        # nothing is drawn until the first mask (alpha 0): the figures from the first
        # mask on are printed too
        first = next((i for i, m in enumerate(run.masks) if m is not None), len(alphas))
        if 0 < first < len(alphas) - 1:
            later = moving_clips.score(
                alphas[first:],
                truth[run.drawn[first:]],
                [c - first for c in shown_cuts if c > first],
            )
            print(f"from the first mask on (frame {first}): {moving_clips.format_scores(later)}")
    return 0
