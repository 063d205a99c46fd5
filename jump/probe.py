"""Optional instrumentation an engine takes at creation: CPU time per stage, gate decisions.

Benchmarks and evaluation pass a ``Probe`` instead of patching engine internals; without
one an engine pays a single ``None`` check per stage.

    probe = Probe()
    d = Denoiser(48000, 2, settings, probe=probe)
    ...
    probe.seconds  # {"nsnet2-48k-int8": 0.8, "vad": 0.2}
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Probe:
    """Accumulates ``clock`` seconds per stage name; records gate decisions when asked to.

    gate_trace: when True, ``gate`` is a list the denoiser appends one
    ``(Silero probability, per-hop SNR detector said speech, gate 0..1)`` to per hop.
    """

    def __init__(
        self, clock: Callable[[], float] = time.process_time, gate_trace: bool = False
    ) -> None:
        self.clock = clock
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: defaultdict[str, int] = defaultdict(int)
        self.gate: list[tuple[float, bool, float]] | None = [] if gate_trace else None

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = self.clock()
        try:
            yield
        finally:
            self.seconds[name] += self.clock() - t0
            self.calls[name] += 1
