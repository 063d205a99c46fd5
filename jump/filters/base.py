"""What both Jump filters share: the log prefix, update-then-swap, pass-through.

The registry (`jump.obs.registry`) already turns any exception in a callback into a
pass-through (the packet or frame goes out unchanged) and logs it once; a filter only
decides what its engine is and how it reports.
"""

from __future__ import annotations

import logging
from typing import Any


class Passthrough:
    """What runs when the engine cannot (missing numpy/onnxruntime): media untouched.

    Subclasses add the media callback (``filter_audio`` / ``video_render``)."""

    def __init__(self, settings: Any, source: Any) -> None:
        self.source = source

    def update(self, settings: Any) -> None:
        pass

    def destroy(self) -> None:
        pass


class JumpFilter:
    """Base of the OBS filter instances: holds one engine, rebuilt only for a new model folder.

    Subclasses set ``title`` and implement ``build_engine``; ``close_engine`` and
    ``describe`` are optional.
    """

    title = "Jump"

    def __init__(self, source: Any, logger: str) -> None:
        self.source = source
        self.log = logging.getLogger(logger)
        self.engine: Any = None
        self.config: Any = None
        self.models_dir: str | None = None

    def _prefix(self) -> str:
        return f"[{self.title}: '{self.source.name}']"

    def apply(self, config: Any, models_dir: str | None) -> bool:
        """Hand ``config`` to the running engine, or build a new one (first call, new model
        folder) and swap it in with one reference assignment, so the media thread sees the
        old engine or the new one, never half of one. True when a new engine was built."""
        if self.engine is not None and models_dir == self.models_dir:
            if config != self.config:
                self.engine.update(config)  # model, method and the rest switch in place
            self.config = config
            return False
        old, self.engine = self.engine, self.build_engine(config, models_dir)
        self.config, self.models_dir = config, models_dir
        if old is not None:
            self.close_engine(old)
        self.log.info("%s %s", self._prefix(), self.describe())
        return True

    def build_engine(self, config: Any, models_dir: str | None) -> Any:
        raise NotImplementedError

    def close_engine(self, engine: Any) -> None:
        """Release an engine that was swapped out (threads, sessions)."""

    def describe(self) -> str:
        """One line for the log when an engine starts."""
        return str(self.config)

    def stats(self) -> dict[str, float]:
        return {}
