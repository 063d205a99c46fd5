"""What both Jump filters share: the log prefix, update-then-swap, pass-through.

The registry (`jump.obs.registry`) already turns any exception in a callback into a
pass-through (the packet or frame goes out unchanged) and logs it once; a filter only
decides what it runs (a ``Denoiser`` inline, a ``MatteWorker`` thread) and how it reports.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any


class Passthrough:
    """What runs when the engine cannot (missing numpy/onnxruntime): media untouched.

    Subclasses add the media callback (``filter_audio`` / ``video_render``)."""

    def __init__(self, settings: Any, source: Any) -> None:
        self.source = source

    def update(self, settings: Any) -> None:
        pass

    def save(self, settings: Any) -> None:
        pass

    def destroy(self) -> None:
        pass


class JumpFilter:
    """Base of the OBS filter instances: holds what the filter runs (its *backend*: the
    denoise filter's ``engine``, the matte filter's ``worker``, each filter naming it by a
    property), rebuilt only for a new model folder.

    Subclasses set ``title`` and hand ``apply`` the backend's constructor; ``release``
    and ``describe`` are optional.
    """

    title = "Jump"

    def __init__(self, source: Any, logger: str) -> None:
        self.source = source
        self.log = logging.getLogger(logger)
        self._backend: Any = None
        self.config: Any = None
        self.models_dir: str | None = None

    def _prefix(self) -> str:
        return f"[{self.title}: '{self.source.name}']"

    def apply(
        self, config: Any, models_dir: str | None, make: Callable[[Any, str | None], Any]
    ) -> bool:
        """Hand ``config`` to the running backend, or build a new one with
        ``make(config, models_dir)`` (first call, new model folder) and swap it in with one
        reference assignment, so the media thread sees the old backend or the new one,
        never half of one. True when a new one was built."""
        if self._backend is not None and models_dir == self.models_dir:
            if config != self.config:
                self._backend.update(config)  # model, method and the rest switch in place
            self.config = config
            return False
        old, self._backend = self._backend, make(config, models_dir)
        self.config, self.models_dir = config, models_dir
        if old is not None:
            self.release(old)
        self.log.info("%s %s", self._prefix(), self.describe())
        return True

    def release(self, backend: Any) -> None:
        """Release a backend that was swapped out (threads, sessions)."""

    def describe(self) -> str:
        """One line for the log when a backend starts."""
        return str(self.config)

    def stats(self) -> dict[str, float]:
        return {}
