"""One line and an exit code instead of a traceback: what every command raises and how
``jump.cli`` turns it into a message.

Exit codes: 2 = bad usage or input (the user can fix the command line), 1 = the work
failed (a model, a codec, the disk). ``-v`` shows the traceback for a bug report.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

USAGE = 2
FAILURE = 1


class CommandError(Exception):
    """A failure with a one-line message; ``code`` is the exit status."""

    code = FAILURE

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class UsageError(CommandError):
    """Bad arguments or input: exit 2."""

    code = USAGE


def one_line(exc: BaseException) -> str:
    """The exception as one line: its message, else its type."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def number(lo: float, hi: float, kind: type = float, unit: str = "") -> Callable[[str], float]:
    """An argparse ``type`` that accepts finite numbers in [lo, hi] and says the range."""
    span = f"{lo:g}..{hi:g}{(' ' + unit) if unit else ''}"

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number (range {span})") from None
        if not math.isfinite(value) or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{text} is out of range {span}")
        return value

    parse.__name__ = f"number in {span}"
    return parse
