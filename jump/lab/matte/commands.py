"""`python -m jump matte | eval matte | bench matte`: the matte engine on files.

Heavy imports (cv2, onnxruntime) live inside the command functions so `--help` is instant.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from jump.catalogue import DEFAULT_MATTE_MODEL
from jump.lab.paths import DOCS_IMG

log = logging.getLogger("jump.matte")

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
# Files have no frame deadline, so the CLI defaults to the best-quality model (the filter
# keeps the light default). Without its file the engine falls back to the next model.
FILE_MODEL = "rvm"
DEFAULT_FIGURE = DOCS_IMG / "matte-eval.png"


def register(
    sub: argparse._SubParsersAction,
    eval_sub: argparse._SubParsersAction,
    bench_sub: argparse._SubParsersAction,
) -> None:
    p = sub.add_parser(
        "matte",
        help="cut the person out of an image or video",
        description=(
            "Matte an image or a video with the same engine and defaults as the OBS filter. "
            "Image → PNG: an RGBA PNG whose alpha is the matte (transparent background). "
            "Video → .mp4/.mkv/.avi: composited (needs --background other than transparent); "
            ".webm: VP9 with alpha (needs ffmpeg on PATH); .png: a PNG sequence "
            "(OUT may hold a %%d pattern, e.g. out_%%05d.png)."
        ),
    )
    p.add_argument("input", type=Path, help="image or video file")
    p.add_argument("output", type=Path, help="output file (see above)")
    p.add_argument(
        "--background",
        default="transparent",
        help="transparent (default), blur, #RRGGBB, or an image file",
    )
    p.add_argument(
        "--model",
        default=None,
        help=f"matte model id (default: {FILE_MODEL}, the best quality; mediapipe is fastest)",
    )
    p.add_argument("--models", default=None, help="folder to look for model files in first")
    p.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads")
    p.add_argument("--provider", default=None, help="auto, cpu, cuda, tensorrt, dml, coreml")
    p.add_argument("--low-light", choices=("off", "auto", "on"), default=None)
    p.add_argument("--feather", type=float, default=None, help="outward feather, px at 720p")
    p.add_argument("--no-refine", action="store_true", help="skip guided-filter edge refinement")
    p.add_argument(
        "--view",
        choices=("result", "mask", "overlay"),
        default="result",
        help="result (default); mask: the matte in black and white; overlay: the picture "
        "with what is cut away tinted red (for tuning)",
    )
    p.add_argument(
        "--grow", type=float, default=None, help="move the edge out (+) or in (-), px at 1080p"
    )
    p.add_argument(
        "--min-blob", type=float, default=None, help="remove specks under this %% of the frame"
    )
    p.add_argument(
        "--keep-zones",
        type=Path,
        default=None,
        help="mask image: white = always keep, black = always remove, grey = the model",
    )
    p.add_argument(
        "--plate", type=Path, default=None, help="picture of the empty room (clean plate)"
    )
    p.add_argument("--plate-tolerance", type=float, default=None,
                   help="room match tolerance in noise units (default 4)")  # fmt: skip
    p.add_argument(
        "--no-auto-frame",
        action="store_true",
        help="light models: do not crop their input to the subject (see docs/matte.md)",
    )
    p.add_argument(
        "--live",
        action="store_true",
        help="play the video through the OBS filter's worker in real time and write what "
        "the filter shows at each frame (jump.lab.matte.live)",
    )
    p.add_argument(
        "--fps", type=float, default=None, help="--live: feed rate (default: the clip's)"
    )
    p.add_argument(
        "--delay-video", type=int, default=0, metavar="MS", help="--live: the filter's delay video"
    )
    p.set_defaults(func=cmd_matte)

    e = eval_sub.add_parser(
        "matte",
        help="raw vs refined matte quality on composites with exact ground truth",
        description="Builds composites of ../shared/data/matte in code and prints a markdown table.",
    )
    e.add_argument("--quick", action="store_true", help="fewer composites, 720p clip only")
    e.add_argument(
        "--model", action="append", default=None, help="model id (repeatable; default: all)"
    )
    e.add_argument("--models", default=None, help="folder to look for model files in first")
    e.add_argument("--figure", type=Path, default=DEFAULT_FIGURE, help="PNG figure to write")
    e.add_argument("--threads", type=int, default=2)
    e.add_argument(
        "--matting",
        action="store_true",
        help="raw RVM vs Jump-RVM vs Jump-MediaPipe: alpha, edge colour, flicker (RVM table)",
    )
    e.add_argument(
        "--framing",
        action="store_true",
        help="auto-framing on/off on small and far placements (MediaPipe unless --model)",
    )
    e.add_argument(
        "--preprocessing",
        action="store_true",
        help="also show raw IoU with each pre-processing choice changed (colour, resize, norm)",
    )
    e.add_argument(
        "--plate",
        action="store_true",
        help="only the clean plate: IoU/MAD with and without it on composites where the "
        "model errs (a portrait on the wall, a held object)",
    )
    e.set_defaults(func=cmd_eval)

    b = bench_sub.add_parser(
        "matte",
        help="mask rate, latency, engine overhead vs bare ORT run, worker lag at 30 fps",
    )
    b.add_argument("--provider", default="cpu", help="auto, cpu, cuda, tensorrt, dml, coreml")
    b.add_argument("--model", default=DEFAULT_MATTE_MODEL)
    b.add_argument("--models", default=None, help="folder to look for model files in first")
    b.add_argument("--sizes", default="720p,1080p,4k", help="comma list of 360p,720p,1080p,4k")
    b.add_argument("--frames", type=int, default=200, help="timed frames per size")
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--fps", type=float, default=30.0, help="feed rate of the worker-lag test")
    b.add_argument("--cv-threads", type=int, default=None, help="cv2.setNumThreads before timing")
    b.add_argument(
        "--inner",
        default="256,288,320,384,448",
        help="RVM only: comma list of inner-pass long sides to time",
    )
    b.add_argument(
        "--thread-counts", default=None, help="RVM only: comma list of ORT thread counts (1,2)"
    )
    b.set_defaults(func=cmd_bench)


# -- matte ------------------------------------------------------------------------------


def _settings(args: argparse.Namespace):
    from jump.matte.settings import MatteSettings

    changes = {"model": args.model or FILE_MODEL}
    if args.threads:
        changes["threads"] = args.threads
    if args.provider:
        changes["provider"] = args.provider
    if args.low_light:
        changes["low_light"] = args.low_light
    if args.feather is not None:
        changes["feather_px"] = args.feather
    if args.no_refine:
        changes["refine"] = False
    if args.grow is not None:
        changes["grow_px"] = args.grow
    if args.min_blob is not None:
        changes["min_blob"] = args.min_blob / 100.0
    if args.keep_zones is not None:
        changes["keep_zones"] = os.fspath(args.keep_zones)
    if args.plate is not None:
        changes["use_plate"] = True
    if args.plate_tolerance is not None:
        changes["plate_tolerance"] = args.plate_tolerance
    if args.no_auto_frame:
        changes["auto_frame"] = False
    return MatteSettings(**changes)


def _install_plate(args: argparse.Namespace, matter, w: int, h: int) -> bool:
    """The ``--plate`` picture as the engine's clean plate at its work size (False: unreadable)."""
    import cv2

    from jump.matte.clean_plate import CleanPlate

    if args.plate is None:
        return True
    picture = cv2.imread(os.fspath(args.plate), cv2.IMREAD_COLOR)
    if picture is None:
        log.error("cannot read the clean plate %s", args.plate)
        return False
    matter.overrides.set_plate(CleanPlate.from_image(picture, matter.work_size(w, h)))
    return True


class Progress:
    """A one-line progress bar on stderr (silent when stderr is not a terminal)."""

    def __init__(self, total: int | None, label: str) -> None:
        self.total, self.label, self.start = total, label, time.perf_counter()
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def update(self, done: int, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self.last < 0.1:
            return
        self.last = now
        rate = done / max(1e-6, now - self.start)
        if self.total:
            frac = min(1.0, done / self.total)
            bar = "#" * int(30 * frac) + "." * (30 - int(30 * frac))
            text = f"{self.label} [{bar}] {done}/{self.total} {rate:5.1f} fps"
        else:
            text = f"{self.label} {done} frames {rate:5.1f} fps"
        if self.tty:
            sys.stderr.write("\r" + text)
            sys.stderr.flush()
        elif force:
            sys.stderr.write(text + "\n")

    def close(self, done: int) -> None:
        self.update(done, force=True)
        if self.tty:
            sys.stderr.write("\n")


def cmd_matte(args: argparse.Namespace) -> int:
    import cv2

    from jump.lab.matte import composite
    from jump.matte.engine import MatteEngine
    from jump.matte.model import MatteModelError

    if not args.input.is_file():
        log.error("no such file: %s", args.input)
        return 2
    if getattr(args, "live", False):
        from jump.lab.matte import live

        return live.command(args)
    try:
        background = _background(args.background)
    except ValueError as exc:
        log.error("%s", exc)
        return 2
    try:
        matter = MatteEngine(_settings(args), args.models)
    except MatteModelError as exc:
        log.error("%s", exc)
        return 1

    if args.keep_zones is not None and not args.keep_zones.is_file():
        log.error("no such keep-zones image: %s", args.keep_zones)
        return 2
    if args.view != "result":
        background = args.view  # the tuning views replace the background choice
    if args.input.suffix.lower() in IMAGE_EXTS:
        image = cv2.imread(os.fspath(args.input), cv2.IMREAD_COLOR)
        if image is None:
            log.error("cannot read image %s", args.input)
            return 2
        if not _install_plate(args, matter, image.shape[1], image.shape[0]):
            return 2
        out = _compose(composite, *_matte_frame(matter, image), background)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(os.fspath(args.output), out):
            log.error("cannot write %s", args.output)
            return 1
        return 0
    return _matte_video(args, matter, background)


def _background(spec: str):
    """'transparent' | 'blur' | (b, g, r) | BGR image array."""
    import cv2

    from jump.lab.matte.composite import parse_colour

    if spec in ("transparent", "blur"):
        return spec
    colour = parse_colour(spec)
    if colour is not None:
        return colour
    image = cv2.imread(spec, cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"--background {spec!r}: not transparent, blur, #RRGGBB or an image")
    return image


def _matte_frame(matter, frame):
    """(colour, alpha): the frame with its soft edges decontaminated, and the matte."""
    from jump.matte import decontaminate

    r = matter.process_detailed(frame, "bgr", want_raw=False)
    colour = frame if r.delta is None else decontaminate.apply_delta(frame, r.delta)
    return colour, r.alpha


def _compose(composite, frame, alpha, background):
    if isinstance(background, str):
        if background == "mask":
            return composite.mask_view(alpha)
        if background == "overlay":
            return composite.overlay_view(frame, alpha)
        if background == "transparent":
            return composite.straight_rgba(frame, alpha)
        return composite.background_blur(frame, alpha)
    if isinstance(background, tuple):
        return composite.over_colour(frame, alpha, background)
    return composite.over_image(frame, alpha, background)


def _matte_video(args: argparse.Namespace, matter, background) -> int:
    import cv2

    from jump.lab.matte import composite

    cap = cv2.VideoCapture(os.fspath(args.input))
    if not cap.isOpened():
        log.error("cannot open %s as image or video", args.input)
        return 2
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    if not _install_plate(args, matter, w, h):
        cap.release()
        return 2
    ext = args.output.suffix.lower()
    transparent = isinstance(background, str) and background == "transparent"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    try:
        sink = _video_sink(args.output, ext, transparent, fps, w, h)
    except ValueError as exc:
        log.error("%s", exc)
        return 2
    bar = Progress(total, args.input.name)
    done = 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            sink(_compose(composite, *_matte_frame(matter, frame), background))
            done += 1
            bar.update(done)
    finally:
        cap.release()
        sink(None)
        bar.close(done)
    return 0 if done else 1


def _video_sink(out: Path, ext: str, transparent: bool, fps: float, w: int, h: int):
    """A callable taking BGR/BGRA frames (None closes) for the output's container."""
    import shutil
    import subprocess

    import cv2

    if ext == ".png":
        pattern = (
            os.fspath(out) if "%" in out.name else os.fspath(out.with_name(out.stem + "_%05d.png"))
        )
        count = [0]

        def write_png(frame):
            if frame is not None:
                cv2.imwrite(pattern % count[0], frame)
                count[0] += 1

        return write_png
    if ext == ".webm":
        ffmpeg = shutil.which("ffmpeg")
        if not ffmpeg:
            raise ValueError("WebM with alpha needs ffmpeg on PATH; or write a .png sequence")
        channels = 4 if transparent else 3
        pix = "bgra" if transparent else "bgr24"
        proc = subprocess.Popen(
            [ffmpeg, "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", pix,
             "-s", f"{w}x{h}", "-r", f"{fps:g}", "-i", "-", "-c:v", "libvpx-vp9",
             "-pix_fmt", "yuva420p" if transparent else "yuv420p", "-b:v", "0", "-crf", "32",
             "-row-mt", "1", os.fspath(out)],
            stdin=subprocess.PIPE,
        )  # fmt: skip

        def write_webm(frame):
            if frame is None:
                proc.stdin.close()  # type: ignore[union-attr]
                proc.wait()
                return
            proc.stdin.write(frame[..., :channels].tobytes())  # type: ignore[union-attr]

        return write_webm
    if transparent:
        raise ValueError(
            f"{ext or 'this'} video cannot carry alpha: use --background blur|#RRGGBB|IMAGE, "
            "a .webm (VP9 alpha, needs ffmpeg) or a .png sequence"
        )
    fourcc = cv2.VideoWriter_fourcc(*("mp4v" if ext in (".mp4", ".mov", "") else "MJPG"))
    writer = cv2.VideoWriter(os.fspath(out), fourcc, fps, (w, h))
    if not writer.isOpened():
        raise ValueError(f"OpenCV cannot write {out}")

    def write_video(frame):
        if frame is None:
            writer.release()
        else:
            writer.write(frame[..., :3])

    return write_video


# -- eval -------------------------------------------------------------------------------


def cmd_eval(args: argparse.Namespace) -> int:
    from jump.lab.matte import evaluate, synth
    from jump.matte.engine import MatteEngine
    from jump.matte.model import MatteModelError, available_matte_models
    from jump.matte.settings import MatteSettings

    if args.plate:
        return _eval_plate(args)
    if args.matting:
        from jump.lab.matte import evaluate_matting

        evaluate_matting.run(args.models, args.threads, args.quick, args.model)
        return 0
    if args.framing:
        from jump.lab.matte import framing_eval

        framing_eval.run(args.models, args.threads, (args.model or ["mediapipe"])[0])
        return 0
    model_ids = args.model or available_matte_models(args.models)
    stills = list(synth.still_set((1280, 720), quick=args.quick))
    if not stills:
        log.error("no composites: is ../shared/data/matte there?")
        return 2
    levels = sorted({s.name.rsplit("/", 1)[1] for s in stills}, key=list(synth.BRIGHTNESS).index)
    clip_sizes = [(1280, 720)] if args.quick else [(1280, 720), (1920, 1080)]
    fg, bg = evaluate.clip_sources()
    print(f"Composites: {len(stills)} stills at 1280×720 ({', '.join(levels)}); clip: 90 frames at "
          + ", ".join(f"{w}×{h}" for w, h in clip_sizes) + "\n")  # fmt: skip
    print(evaluate.TABLE_HEAD)
    default_matter = None
    checks: list = []
    for mid in model_ids:
        try:
            matter = MatteEngine(MatteSettings(model=mid, threads=args.threads), args.models)
        except MatteModelError as exc:
            print(f"| {mid} | unavailable: {exc} | | | | | |")
            continue
        if mid == MatteSettings().model:
            default_matter = matter
        raw, ref = evaluate.evaluate_stills(matter, stills)
        for w, h in clip_sizes:
            craw, cref = evaluate.evaluate_clip(matter, synth.moving_clip(fg, bg, (w, h)))
            raw.flicker += craw.flicker
            ref.flicker += cref.flicker
        print(evaluate.fmt_row(mid, "raw", raw.mean()))
        print(evaluate.fmt_row(mid, "**Jump refined**", ref.mean()), flush=True)
        if args.preprocessing:
            checks.append((mid, evaluate.check_preprocessing(matter, stills)))

    if checks:
        print("\nPre-processing check: raw IoU on the stills with one choice changed:\n")
        print("| model | pre-processing | raw IoU |\n|---|---|---|")
        for mid, rows in checks:
            for label, value in rows:
                print(f"| {mid} | {label} | {value:.3f} |")
    if default_matter is not None:
        m = default_matter
        print("\nBy brightness level, default model (stills):\n")
        print(evaluate.TABLE_HEAD)
        for level in levels:
            subset = [s for s in stills if s.name.endswith("/" + level)]
            raw, ref = evaluate.evaluate_stills(m, subset)
            print(evaluate.fmt_row(f"{m.settings.model} {level}", "raw", raw.mean()))
            print(evaluate.fmt_row(f"{m.settings.model} {level}", "refined", ref.mean()))
        dark = [s for s in stills if s.name.endswith("/dark")]
        if dark:
            print("\nLow-light assist on the dark composites (refined output):\n")
            print(evaluate.TABLE_HEAD)
            base = m.settings
            for label, changes in [
                ("off", {"low_light": "off"}),
                ("gamma", {"low_light": "on", "low_light_model": "gamma"}),
                ("zero_dce", {"low_light": "on", "low_light_model": "zero_dce"}),
            ]:
                m.update(base.with_(**changes))
                _, ref = evaluate.evaluate_stills(m, dark)
                print(evaluate.fmt_row(f"{base.model} low-light {label}", "refined", ref.mean()))
            m.update(base)
        for w, h in clip_sizes:
            raw, ref = evaluate.evaluate_clip(m, synth.moving_clip(fg, bg, (w, h)))
            print(f"\nClip {w}×{h}, default model:\n")
            print(evaluate.TABLE_HEAD)
            print(evaluate.fmt_row(m.settings.model, "raw", raw.mean()))
            print(evaluate.fmt_row(m.settings.model, "refined", ref.mean()))
        # the webcam case the filter is for: head and shoulders, loose hair, a street
        fg_path = next(p for p in synth.foreground_paths() if p.stem == "person-1")
        bgs = {p.stem: p for p in synth.background_paths()}
        colour, alpha = synth.place(synth.load_rgba(fg_path), 1280, 720, 0.95, 0.5, 1.0)
        frame = synth.compose(
            colour, alpha, synth.cover(synth.load_bgr(bgs["car-2"]), 1280, 720), 1.0, 2.0
        )
        pick = synth.Sample("person-1 over car-2", frame, alpha)
        other = synth.load_bgr(bgs["plants-1"])
        evaluate.figure(m, pick, args.figure, other)
        print(f"\nFigure: {args.figure} ({pick.name})")
    return 0


def _eval_plate(args: argparse.Namespace) -> int:
    import numpy as np

    from jump.lab.matte import plate_eval
    from jump.matte.engine import MatteEngine
    from jump.matte.settings import MatteSettings

    print(f"Clean plate: median of {plate_eval.PLATE_FRAMES} frames of the empty room "
          f"(sensor noise σ {plate_eval.NOISE:g}), live frame with fresh noise, 1280×720\n")  # fmt: skip
    print(
        "| model | composite | IoU | IoU with plate | MAD | MAD with plate |\n|---|---|---|---|---|---|"
    )
    for mid in args.model or [MatteSettings().model]:
        matter = MatteEngine(MatteSettings(model=mid, threads=args.threads), args.models)
        rows = plate_eval.evaluate(matter)
        for name, (iou0, mad0, iou1, mad1) in rows:
            print(
                f"| {mid} | {name} | {iou0:.3f} | {iou1:.3f} | {mad0:.4f} | {mad1:.4f} |",
                flush=True,
            )
        for kind in ("poster", "held object"):
            s = np.array([v for n, v in rows if n.startswith(kind)]).mean(axis=0)
            print(
                f"| {mid} | **mean, {kind}** | {s[0]:.3f} | {s[2]:.3f} | {s[1]:.4f} | {s[3]:.4f} |"
            )
    return 0


# -- bench ------------------------------------------------------------------------------


def cmd_bench(args: argparse.Namespace) -> int:
    from jump.lab.matte import bench
    from jump.matte.engine import MatteEngine
    from jump.matte.model import MatteModelError
    from jump.matte.settings import MatteSettings

    if args.cv_threads is not None:
        import cv2

        cv2.setNumThreads(args.cv_threads)
    settings = MatteSettings(model=args.model, threads=args.threads, provider=args.provider)
    try:
        matter = MatteEngine(settings, args.models)
    except MatteModelError as exc:
        log.error("%s", exc)
        return 1
    if matter.model.spec.output_kind == "alpha":  # a matting model (RVM): own bench
        from jump.lab.matte import bench_rvm

        threads = [int(t) for t in (args.thread_counts or str(args.threads)).split(",")]
        inners = [int(i) for i in args.inner.split(",")]
        print(f"model {args.model}, provider {args.provider} → "
              f"{matter.model.session.get_providers()[0]}; machine: {bench.environment()}\n")  # fmt: skip
        bench_rvm.run(args.model, args.models, args.provider, threads, inners, args.frames)
        return 0
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in bench.SIZES]
    if unknown:
        log.error("unknown size(s) %s; known: %s", unknown, ", ".join(bench.SIZES))
        return 2
    providers = matter.model.session.get_providers()
    print(f"model {args.model} (input {matter.input_size[0]}×{matter.input_size[1]}), "
          f"provider {args.provider} → {providers[0]}, threads {args.threads}")  # fmt: skip
    print(f"machine: {bench.environment()}; {args.frames} timed frames per size, medians\n")
    print(
        "| source | work | CPU downscale ms | bare run ms | engine ms | engine/bare | "
        "masks/s |\n|---|---|---|---|---|---|---|"
    )
    for size in sizes:
        r = bench.bench_size(matter, size, args.frames)
        print(
            f"| {r.size} | {r.work[0]}×{r.work[1]} | {r.resize_ms:.2f} | {r.bare_ms:.2f} | "
            f"{r.process_ms:.2f} | {r.ratio:.2f}× | {r.masks_per_s:.0f} |",
            flush=True,
        )
    stage_size = "1080p" if "1080p" in sizes else sizes[0]
    print(f"\nStages on the {stage_size} work frame, each run alone (median ms):\n")
    print("| stage | ms |\n|---|---|")
    for name, ms in bench.stage_times(matter, stage_size):
        print(f"| {name} | {ms:.2f} |", flush=True)
    lag_size = "1080p" if "1080p" in sizes else sizes[0]
    lag = bench.bench_lag(settings, args.models, lag_size, args.fps)
    print(
        f"\nWorker at {lag.fps:g} fps ({lag_size} source → work size, {lag.frames} frames): "
        f"newest mask {lag.lag_mean:.2f} frames behind on average (max {lag.lag_max}), "
        f"≤ 1 frame behind for {100 * lag.within_one:.0f} % of frames; "
        f"submit→mask {lag.e2e_mean_ms:.1f} ms mean; {lag.masks} masks, {lag.dropped} frames dropped"
    )
    return 0
