"""`python -m jump eval matte | bench matte`: quality and speed of the matte engine (lab).

`python -m jump matte` (a user's file) is jump/commands/matte.py. Heavy imports (cv2,
onnxruntime) live inside the command functions so `--help` is instant.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from jump.commands.errors import number
from jump.defaults import DEFAULT_MATTE_MODEL
from jump.lab.paths import DOCS_IMG

log = logging.getLogger("jump.matte")

DEFAULT_FIGURE = DOCS_IMG / "matte-eval.png"


def register(eval_sub: argparse._SubParsersAction, bench_sub: argparse._SubParsersAction) -> None:
    e = eval_sub.add_parser(
        "matte",
        help="raw vs refined matte quality on composites with exact ground truth",
        description="Builds composites of ../shared/data/matte in code (on a fresh clone "
        "without it, of the bundled tests/data/matte) and prints a markdown table.",
    )
    e.add_argument("--quick", action="store_true", help="fewer composites, 720p clip only")
    e.add_argument(
        "--model", action="append", default=None, help="model id (repeatable; default: all)"
    )
    e.add_argument("--models", default=None, help="folder to look for model files in first")
    e.add_argument("--figure", type=Path, default=DEFAULT_FIGURE, help="PNG figure to write")
    e.add_argument("--threads", type=number(1, 64, int), default=2, help="default: 2")
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
    b.add_argument(
        "--frames", type=number(1, 100000, int), default=200, help="timed frames per size"
    )
    b.add_argument("--threads", type=number(1, 64, int), default=2, help="default: 2")
    b.add_argument(
        "--fps", type=number(1, 240), default=30.0, help="feed rate of the worker-lag test"
    )
    b.add_argument(
        "--cv-threads",
        type=number(0, 64, int),
        default=None,
        help="cv2.setNumThreads before timing",
    )
    b.add_argument(
        "--inner",
        default="256,288,320,384,448",
        help="RVM only: comma list of inner-pass long sides to time",
    )
    b.add_argument(
        "--thread-counts", default=None, help="RVM only: comma list of ORT thread counts (1,2)"
    )
    b.add_argument(
        "--guard",
        type=number(0, 2048, int),
        default=0,
        metavar="PX",
        help="RVM, --path device: also run the inner-size guard at this size (jump.matte.guard)",
    )
    b.add_argument(
        "--path",
        choices=("engine", "device", "both"),
        default=None,
        help="only the full path per mask (numpy engine, device graph or both) at the first "
        "size, RVM at the first --inner: masks/s, worker CPU, outside the execution provider",
    )
    b.set_defaults(func=cmd_bench)


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
        log.error("no composites: neither ../shared/data/matte nor tests/data/matte has any")
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
    settings = MatteSettings(
        model=args.model, threads=args.threads, provider=args.provider, rvm_guard=args.guard
    )
    if args.path is not None:
        return _bench_paths(args, settings)
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
        print()
        return _bench_paths(args, settings)
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
    print()
    return _bench_paths(args, settings)


def _bench_paths(args: argparse.Namespace, settings) -> int:
    """The full path per mask, numpy engine vs device graph (jump.lab.matte.bench_path)."""
    from jump.lab.matte import bench, bench_path
    from jump.matte.model import MatteModelError

    size = next((s.strip() for s in args.sizes.split(",") if s.strip()), "1080p")
    if size not in bench.SIZES:
        log.error("unknown size %s; known: %s", size, ", ".join(bench.SIZES))
        return 2
    inner = int(args.inner.split(",")[0]) if args.model.startswith("rvm") else 0
    if inner and args.path is None and "," in args.inner:
        inner = 0  # the default list: the manifest's inner size
    settings = settings.with_(rvm_inner=inner)
    paths = bench_path.PATHS if args.path in (None, "both") else (args.path,)
    label = f", inner {inner or 'default'}" if args.model.startswith("rvm") else ""
    label += f" + {settings.rvm_guard} guard" if settings.rvm_guard else ""
    print(f"Full path per mask, {size} source{label}, {args.frames} frames, "
          f"provider {args.provider}, machine: {bench.environment()}\n")  # fmt: skip
    results = []
    for path in paths:
        try:
            results.append(bench_path.bench_path(settings, args.models, path, size, args.frames, fps=args.fps))  # fmt: skip
        except MatteModelError as exc:
            log.error("%s", exc)
            return 1
    bench_path.report(results, args.fps)
    return 0
