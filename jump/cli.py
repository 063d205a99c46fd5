"""`python -m jump ...`: the engines on files, model management, evaluation, benchmarks.

Each engine registers its own subcommands (`jump/denoise/commands.py`,
`jump/matte/commands.py`); heavy imports happen inside the command functions so that
`--help` is instant and works without onnxruntime.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from jump.commands import doctor
from jump.lab import demo, model_commands, obs_bench, stream_bench, stream_soak
from jump.lab.denoise import commands as denoise_commands
from jump.lab.matte import commands as matte_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m jump",
        description="Jump: background matting and mic denoising for OBS, on files.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    eval_sub = sub.add_parser("eval", help="quality evaluation on the shared data set")
    eval_sub = eval_sub.add_subparsers(dest="target", required=True, metavar="TARGET")
    bench_sub = sub.add_parser("bench", help="speed benchmarks")
    bench_sub = bench_sub.add_subparsers(dest="target", required=True, metavar="TARGET")

    demo.register(sub)
    doctor.register(sub)
    model_commands.register(sub)
    denoise_commands.register(sub, eval_sub, bench_sub)
    matte_commands.register(sub, eval_sub, bench_sub)
    obs_bench.register(bench_sub)
    stream_bench.register(bench_sub)
    stream_soak.register(bench_sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return int(args.func(args) or 0)
