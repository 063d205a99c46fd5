"""Route Python `logging` under "jump" into OBS's log (blog), so users see one log."""

from __future__ import annotations

import logging

from jump.obs import libobs as L

_LEVELS = (
    (logging.ERROR, L.LOG_ERROR),
    (logging.WARNING, L.LOG_WARNING),
    (logging.INFO, L.LOG_INFO),
)


class ObsLogHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = next((obs for py, obs in _LEVELS if record.levelno >= py), L.LOG_DEBUG)
            L.fn().blog(level, f"[jump] {self.format(record)}")
        except Exception:  # logging must never take a callback down
            pass


def install(level: int = logging.INFO) -> None:
    """Attach the OBS handler to the "jump" logger once per process (reloads reuse it)."""
    logger = logging.getLogger("jump")
    logger.setLevel(level)
    logger.propagate = False
    if not any(isinstance(h, ObsLogHandler) for h in logger.handlers):
        logger.addHandler(ObsLogHandler())
