"""`python -m jump eval denoise | eval onsets | bench denoise`: quality and speed (lab).

`python -m jump denoise` (a user's file) is jump/commands/denoise.py.

Heavy imports (numpy, scipy, onnxruntime) live inside the command functions so `--help`
is instant.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from jump.commands.errors import number
from jump.denoise.auto import BEST_QUALITY, LOW_LATENCY
from jump.lab.paths import DOCS_IMG
from jump.sessions import PROVIDER_CHOICES

# Short names for the command line; the manifest ids work too.
MODEL_ALIASES = {"dfn3": BEST_QUALITY, "nsnet2": LOW_LATENCY}

log = logging.getLogger("jump.denoise")

DEFAULT_IMG = DOCS_IMG


def register(eval_sub: argparse._SubParsersAction, bench_sub: argparse._SubParsersAction) -> None:
    e = eval_sub.add_parser(
        "denoise",
        help="PESQ/STOI/SI-SDR of every method vs RNNoise and noisereduce; VAD F1",
        description=(
            "Builds noisy mixtures from ../shared/data/audio in code (fixed seeds; on a fresh "
            "clone without it, from the bundled tests/data/audio), prints a markdown table "
            "and writes a plot of each metric against input SNR."
        ),
    )
    e.add_argument("--quick", action="store_true", help="3 mixtures per SNR instead of all")
    e.add_argument("--out", type=Path, default=DEFAULT_IMG, help="folder for the PNG plot")
    e.add_argument("--data", type=Path, default=None,
                   help="audio folder (default: ../shared/data/audio, else tests/data/audio)")  # fmt: skip
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
    b.add_argument(
        "--seconds",
        type=number(0.1, 3600, unit="s"),
        default=20.0,
        help="audio per measurement, s (default: 20)",
    )
    b.add_argument("--methods", default="classical,neural,both", help="comma list")
    b.add_argument(
        "--model",
        default=f"{LOW_LATENCY},{BEST_QUALITY}",
        help="comma list of models for the neural methods",
    )
    b.add_argument("--provider", default="cpu", choices=PROVIDER_CHOICES, help="ONNX Runtime")
    b.add_argument(
        "--repeat",
        type=number(1, 1000, int),
        default=3,
        help="runs per row; the best is kept (default: 3)",
    )
    b.add_argument(
        "--split", action="store_true", help="also split the default's stereo RTF by stage"
    )
    b.add_argument("--models", default=None, help="folder to look for model files in first")
    b.set_defaults(func=cmd_bench)


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
