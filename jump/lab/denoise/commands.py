"""`python -m jump denoise | eval denoise | bench denoise`: the denoise engine on files.

Heavy imports (numpy, scipy, onnxruntime) live inside the command functions so `--help`
is instant.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from jump.denoise import stages
from jump.denoise.auto import AUTO, BEST_QUALITY, LOW_LATENCY
from jump.lab.paths import DOCS_IMG
from jump.sessions import PROVIDER_CHOICES

# Short names for the command line; the manifest ids work too.
MODEL_ALIASES = {"dfn3": BEST_QUALITY, "nsnet2": LOW_LATENCY}

log = logging.getLogger("jump.denoise")

DEFAULT_IMG = DOCS_IMG


def register(
    sub: argparse._SubParsersAction,
    eval_sub: argparse._SubParsersAction,
    bench_sub: argparse._SubParsersAction,
) -> None:
    p = sub.add_parser(
        "denoise",
        help="remove noise from a recording",
        description=(
            "Denoise a sound file with the same engine and defaults as the OBS filter. "
            "The output has the input's rate, channels and length, and is latency "
            "compensated: output sample n lines up with input sample n."
        ),
    )
    p.add_argument("input", type=Path, help="sound file (WAV, FLAC, OGG...)")
    p.add_argument("output", type=Path, help="output sound file")
    p.add_argument("--method", choices=("classical", "neural", "both"), default=None)
    p.add_argument("--strength", type=float, default=None, help="max attenuation, dB")
    p.add_argument("--speech-strength", type=float, default=None, help="max dB while talking")
    p.add_argument("--mix", type=float, default=None, help="dry/wet 0..1")
    p.add_argument("--vad-threshold", type=float, default=None, help="speech probability 0..1")
    p.add_argument("--grace", type=float, default=None, help="gate hold after speech, ms")
    p.add_argument("--release", type=float, default=None, help="gate release time, ms")
    p.add_argument(
        "--lookahead", type=float, default=None, help="onset look-ahead, ms (0-60; adds latency)"
    )
    p.add_argument(
        "--monitor",
        choices=("output", "removed"),
        default=None,
        help="removed: write what the denoiser takes away (input minus output)",
    )
    p.add_argument("--per-channel", action="store_true", help="one gain per channel")
    p.add_argument(
        "--model",
        default=BEST_QUALITY,
        choices=[*MODEL_ALIASES, *stages.model_ids(), AUTO],
        help=f"denoise model (default {BEST_QUALITY}, the best quality; dfn3 = deepfilternet3, "
        f"nsnet2 = {LOW_LATENCY}, 20 ms; auto = the filter's choice by measured CPU)",
    )
    p.add_argument("--provider", default="cpu", choices=PROVIDER_CHOICES, help="ONNX Runtime")
    p.add_argument("--no-vad-model", action="store_true", help="energy VAD only")
    p.add_argument("--models", default=None, help="folder to look for model files in first")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_denoise)

    e = eval_sub.add_parser(
        "denoise",
        help="PESQ/STOI/SI-SDR of every method vs RNNoise and noisereduce; VAD F1",
        description=(
            "Builds noisy mixtures from ../shared/data/audio in code (fixed seeds), prints a "
            "markdown table and writes a plot of each metric against input SNR."
        ),
    )
    e.add_argument("--quick", action="store_true", help="3 mixtures per SNR instead of 5")
    e.add_argument("--out", type=Path, default=DEFAULT_IMG, help="folder for the PNG plot")
    e.add_argument("--data", type=Path, default=None, help="shared/data/audio folder")
    e.add_argument("--models", default=None, help="folder to look for model files in first")
    e.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    e.add_argument(
        "--only", default="", help="';'-separated method names of the table (default: all)"
    )
    e.set_defaults(func=cmd_eval)

    o = eval_sub.add_parser(
        "onsets",
        help="word onset/offset energy loss vs the clean speech, per onset look-ahead",
        description="The voice gate's compass figure (< 1 dB) on the shared mixtures.",
    )
    o.add_argument("--lookahead", default="0,10,20,30,40,60", help="comma list of ms")
    o.add_argument("--method", choices=("classical", "neural", "both"), default="neural")
    o.add_argument("--snrs", default="0,5,10", help="comma list of input SNRs, dB")
    o.add_argument("--model", default=None, help="neural model id (default: the engine's)")
    o.add_argument("--data", type=Path, default=None, help="shared/data/audio folder")
    o.add_argument("--models", default=None, help="folder to look for model files in first")
    o.set_defaults(func=cmd_onsets)

    b = bench_sub.add_parser(
        "denoise", help="real-time factor per method, mono and stereo, with RNNoise as reference"
    )
    b.add_argument("--seconds", type=float, default=20.0, help="audio per measurement")
    b.add_argument("--methods", default="classical,neural,both", help="comma list")
    b.add_argument(
        "--model",
        default=f"{LOW_LATENCY},{BEST_QUALITY}",
        help="comma list of models for the neural methods",
    )
    b.add_argument("--provider", default="cpu", choices=PROVIDER_CHOICES, help="ONNX Runtime")
    b.add_argument("--repeat", type=int, default=3, help="runs per row; the best is kept")
    b.add_argument(
        "--split", action="store_true", help="also split the default's stereo RTF by stage"
    )
    b.add_argument("--models", default=None, help="folder to look for model files in first")
    b.set_defaults(func=cmd_bench)


def _settings(args: argparse.Namespace):
    from dataclasses import replace

    from jump.denoise.settings import DenoiseSettings

    s = DenoiseSettings()
    changes = {
        "method": args.method,
        "strength_db": args.strength,
        "speech_db": args.speech_strength,
        "mix": args.mix,
        "vad_threshold": args.vad_threshold,
        "grace_ms": args.grace,
        "release_ms": args.release,
        "lookahead_ms": args.lookahead,
        "monitor": args.monitor,
        "neural_model": MODEL_ALIASES.get(args.model, args.model),
        "provider": args.provider,
    }
    s = replace(s, **{k: v for k, v in changes.items() if v is not None})
    if args.per_channel:
        s = replace(s, linked=False)
    if args.no_vad_model:
        s = replace(s, vad_model="")
    if args.speech_strength is None and args.strength is not None:
        s = replace(s, speech_db=min(s.speech_db, args.strength))
    return s


def cmd_denoise(args: argparse.Namespace) -> int:
    import soundfile as sf

    from jump.lab.denoise.files import denoise_file

    if not args.input.is_file():
        print(f"no such file: {args.input}", file=sys.stderr)
        return 2
    try:
        sf.info(str(args.input))
    except RuntimeError as exc:
        print(f"cannot read {args.input}: {exc}", file=sys.stderr)
        return 2
    d = denoise_file(args.input, args.output, _settings(args), args.models, not args.quiet)
    log.info("wrote %s (%s)", args.output, d.status)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from jump.lab.denoise.evaluate import evaluate

    def progress(name: str) -> None:
        print(f"  done: {name}", file=sys.stderr, flush=True)

    only = tuple(m.strip() for m in args.only.split(";") if m.strip())
    text = evaluate(args.data, args.models, args.quick, args.out, progress, only)
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    if args.out:
        print(f"plot: {args.out / 'denoise-eval.png'}", file=sys.stderr)
    return 0


def cmd_onsets(args: argparse.Namespace) -> int:
    from jump.lab.denoise.mixtures import build_all
    from jump.lab.denoise.onsets import table

    snrs = tuple(float(v) for v in args.snrs.split(","))
    mixtures = build_all(args.data, snrs)
    lookaheads = tuple(float(v) for v in args.lookahead.split(","))
    model = MODEL_ALIASES.get(args.model, args.model) if args.model else None
    print(table(mixtures, lookaheads, args.method, args.models, model))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from jump.lab.denoise import bench

    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    models = tuple(MODEL_ALIASES.get(m.strip(), m.strip()) for m in args.model.split(","))
    rows = bench.run(args.seconds, args.models, methods, args.repeat, models, args.provider)
    print(bench.markdown(rows, args.seconds, args.repeat))
    if args.split:
        x = bench._signal(args.seconds)
        for _ in range(args.repeat):
            parts = bench.split_neural(2, x, args.models)
            print(
                "default settings, stereo: " + ", ".join(f"{k} {v:.4f}" for k, v in parts.items())
            )
    return 0
