"""`python -m jump ...`: the argparse entry; every command lives in its own module.

What a streamer runs (denoise, matte, models, doctor, demo) is ``jump/commands/``;
evaluation and benchmarks are the lab's (``jump/lab/``). Heavy imports happen inside the
command functions so that `--help` is instant and `doctor` works without numpy.

No traceback reaches a user: a command's error becomes one line on stderr and an exit
code (2: bad usage or input, 1: the work failed, 130: interrupted); ``-v`` adds the
traceback for a bug report.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence

from jump.commands import demo, denoise, doctor, matte, models
from jump.commands.errors import FAILURE, USAGE, CommandError, one_line
from jump.lab import obs_bench, stream_bench, stream_soak
from jump.lab.denoise import commands as denoise_lab
from jump.lab.matte import commands as matte_lab


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (subcommand parsers inherit this class)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(USAGE, f"{self.prog}: error: {message} (--help shows the usage)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m jump",
        description="Jump: background matting and mic denoising for OBS, on files.",
    )
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="debug logging, and the traceback of an error")  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # what a streamer runs
    denoise.register(sub)
    matte.register(sub)
    models.register(sub)
    doctor.register(sub)
    demo.register(sub)
    # research tools
    eval_sub = sub.add_parser("eval", help="quality evaluation (shared data, else tests/data)")
    eval_sub = eval_sub.add_subparsers(dest="target", required=True, metavar="TARGET")
    bench_sub = sub.add_parser("bench", help="speed benchmarks")
    bench_sub = bench_sub.add_subparsers(dest="target", required=True, metavar="TARGET")
    denoise_lab.register(eval_sub, bench_sub)
    matte_lab.register(eval_sub, bench_sub)
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
    try:
        return int(args.func(args) or 0)
    except BaseException as exc:  # SystemExit passes through below
        if isinstance(exc, SystemExit):
            raise
        code, message = _one_line(exc)
        if args.verbose:
            traceback.print_exception(exc)
    prog = f"python -m jump {args.command}"
    print(f"{prog}: error: {message}" + ("" if args.verbose else " (-v shows details)"),
          file=sys.stderr)  # fmt: skip
    return code


def _one_line(exc: BaseException) -> tuple[int, str]:
    """(exit code, message) for an error that ends a command."""
    if isinstance(exc, CommandError):
        return exc.code, one_line(exc)
    if isinstance(exc, KeyboardInterrupt):
        return 130, "interrupted: nothing was written"
    if isinstance(exc, FileNotFoundError):
        return USAGE, f"no such file: {exc.filename or one_line(exc)}"
    if isinstance(exc, (PermissionError, IsADirectoryError, NotADirectoryError)):
        return USAGE, f"{exc.strerror or one_line(exc)}: {exc.filename or ''}".rstrip(": ")
    if isinstance(exc, MemoryError):
        return FAILURE, "out of memory"
    # a model, a codec, the disk, or a bug: one line, -v for more
    return FAILURE, f"{type(exc).__name__}: {one_line(exc)}"
