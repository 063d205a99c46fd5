"""Progress for long commands: a bar redrawn in place on a terminal, plain periodic lines
in a log (no carriage returns in a file)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

LOG_EVERY_S = 10.0  # one plain line per this many seconds when stderr is not a terminal
REDRAW_S = 0.1


class Progress:
    """``update(done)`` as work advances; ``close(done)`` once. ``unit``: "frames", "s"…"""

    def __init__(
        self,
        label: str,
        total: float | None,
        unit: str = "frames",
        quiet: bool = False,
        stream: TextIO | None = None,
    ) -> None:
        self.label, self.total, self.unit, self.quiet = label, total, unit, quiet
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.monotonic()
        self.last = self.start

    def _text(self, done: float) -> str:
        elapsed = max(1e-6, time.monotonic() - self.start)
        count = f"{done:.0f}" if self.unit == "frames" else f"{done:.1f}"
        if self.total:
            frac = min(1.0, done / self.total)
            total = f"{self.total:.0f}" if self.unit == "frames" else f"{self.total:.1f}"
            bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
            return (f"{self.label} [{bar}] {100 * frac:5.1f}% {count}/{total} {self.unit}, "
                    f"{elapsed:.0f} s")  # fmt: skip
        return f"{self.label} {count} {self.unit}, {elapsed:.0f} s"

    def update(self, done: float) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if now - self.last < (REDRAW_S if self.tty else LOG_EVERY_S):
            return
        self.last = now
        if self.tty:
            self.stream.write("\r" + self._text(done))
        else:
            self.stream.write(self._text(done) + "\n")
        self.stream.flush()

    def close(self, done: float) -> None:
        if self.quiet:
            return
        self.stream.write(("\r" if self.tty else "") + self._text(done) + "\n")
        self.stream.flush()
