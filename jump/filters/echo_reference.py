"""Jump Denoise's "Remove the sound of": the reference source's audio for the engine.

Glue only: which source the user picked, attaching to it (jump.obs.audio_capture), and
what happens when it is missing, deleted or is the mic itself — each said once in the
log, and the filter goes on denoising without it. Samples of the mic are never held
back for the reference: a reference that is late or absent reads as silence.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jump.obs.source import Source

log = logging.getLogger("jump.denoise.filter")

S_REFERENCE = "echo_reference"
RETRY_S = 2.0  # how often a named source that is not there yet is looked for


class ReferenceInput:
    def __init__(self, prefix: str, sample_rate: int, channels: int) -> None:
        self.prefix = prefix
        self.sample_rate, self.channels = sample_rate, channels
        self.name = ""  # the source's name now (it follows a rename)
        self.chosen = ""  # the name the settings hold (a renamed source keeps its old one)
        self.capture: Any = None
        self._next_try = 0.0
        self._said: set[str] = set()
        self.ahead_ms = float("nan")  # newest reference sample vs the mic packet (stats)

    def _say(self, key: str, message: str) -> None:
        if key not in self._said:
            self._said.add(key)
            log.info("%s %s", self.prefix, message)

    def select(self, name: str, parent: Source | None) -> None:
        """The user's choice ("" = none); call from OBS's UI thread (update)."""
        if name in (self.name, self.chosen) and (self.capture is not None or not name):
            return
        old, self.capture = self.capture, None
        if old is not None:
            old.close()
        self.name, self.chosen, self._said = name, name, set()
        self._next_try = 0.0
        if name:
            self._attach(parent)

    def _attach(self, parent: Source | None) -> None:
        from jump.obs.audio_capture import AudioCapture

        self._next_try = time.monotonic() + RETRY_S
        try:
            cap = AudioCapture(self.name, self.sample_rate, self.channels, parent)
        except Exception as exc:  # a libobs without the capture API: plain denoise
            self._say("error", f"echo reference unavailable: {exc}")
            return
        if cap.attached:
            self.capture = cap
            self._say(f"on:{id(cap)}", f"removing the sound of '{self.name}' (echo canceller)")
        else:
            self._say(cap.error, f"echo reference off: {cap.error}")

    def read(self, ts: int, n: int, parent: Source | None, engine: Any) -> Any:
        """The reference for a mic packet at ``ts`` of ``n`` samples, or None."""
        cap = self.capture
        if cap is None:
            if self.name and "self" not in self._said and time.monotonic() > self._next_try:
                self._attach(parent)  # the source may load after the mic, or come back
            return None
        if cap.is_source(parent):  # the parent is known only once the filter sits on it
            self.capture = None
            cap.close()
            engine.drop_reference()
            self._say("self", f"echo reference off: '{self.name}' is the mic this filter is on")
            return None
        if cap.expired():
            self.capture = None
            cap.close()
            engine.drop_reference()
            self._said.discard("gone")
            self._say("gone", f"'{self.name}' was removed: plain denoise, no echo canceller")
            self._next_try = time.monotonic() + RETRY_S
            return None
        if cap.name != self.name:  # renamed in OBS: the capture holds the source, not the name
            old, self.name = self.name, cap.name
            self._say(
                f"renamed:{cap.name}", f"'{old}' is now '{cap.name}': still removing its sound"
            )
        self.ahead_ms = cap.ring.ahead_ms(ts)
        return cap.ring.read(ts, n)

    @property
    def state(self) -> str:
        """For stats: "" (none chosen), "on", or "off" (chosen, not attached now)."""
        if not self.name:
            return ""
        cap = self.capture
        return "on" if cap is not None and not cap.removed else "off"

    def close(self) -> None:
        cap, self.capture = self.capture, None
        if cap is not None:
            cap.close()
