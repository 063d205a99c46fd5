"""What Jump Matte's "delay video" holds back, for Jump Denoise on the same source.

OBS's Sync Offset moves a source's audio and its video alike when the source carries both
(a webcam with its own mic, a capture card, a media file): measured in the stream e2e
test, a 200 ms offset left the webcam clip's A/V skew where it was. So it cannot undo a
delay of the picture alone. Jump Denoise on that source adds the delay to its audio
timestamps instead, as it already subtracts its own latency. A mic in a source of its own
is delayed with its Sync Offset as usual (docs/streaming.md).

Keyed by the parent source (``jump.obs.source.Source``, equal by pointer). Every render refreshes its entry, so a matte filter
that stops drawing (disabled, hidden, removed) stops counting within ``STALE_S``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jump.obs.source import Source

STALE_S = 1.0
_delays: dict[Source, tuple[int, float]] = {}


def publish(parent: Source | None, delay_ns: int) -> None:
    """The picture of `parent` is drawn `delay_ns` late (graphics thread, every render)."""
    if parent is not None:
        _delays[parent] = (delay_ns, time.monotonic())


def video_delay_ns(parent: Source | None) -> int:
    """How late `parent`'s picture is drawn now (any thread); 0 when nothing delays it."""
    entry = _delays.get(parent) if parent is not None else None
    if entry is None or time.monotonic() - entry[1] > STALE_S:
        return 0
    return entry[0]
