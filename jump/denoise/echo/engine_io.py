"""The Denoiser's side of echo cancellation, kept apart so that the engine stays one job:
taking the reference beside the mic, the canceller's lifetime, its status, and the
frame view both buffers are analysed with."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from jump.denoise.echo.stream import EchoPath, as_mono

log = logging.getLogger("jump.denoise")


class EchoInput:
    """Mixed into ``Denoiser``: needs its ``sample_rate``, ``hop``, ``window``, ``channels``,
    ``_in``, ``_win`` and ``_warn_once``."""

    _echo: EchoPath | None = None
    sample_rate: int
    hop: int
    window: int
    channels: int
    _in: np.ndarray
    _win: np.ndarray

    @property
    def echo_status(self) -> str:
        """The echo canceller's state in words ("" when no reference came)."""
        e = self._echo
        if e is None:
            return ""
        if e.refused:
            return "echo canceller off: the reference is the mic itself"
        delay = e.linear.delay_ms
        where = "finding the delay" if delay is None else f"delay {delay:.0f} ms"
        return f"echo canceller: {where}"

    def drop_reference(self) -> None:
        """Forget the echo canceller (the reference went away): plain denoising again."""
        self._echo = None

    def _reference(self, reference: Any, n: int) -> np.ndarray | None:
        """A push's reference as mono float32 of ``n`` samples; the canceller starts with
        the first one."""
        if reference is None:
            return None
        ref = as_mono(reference, n, self._warn_once)  # type: ignore[attr-defined]
        if ref is not None and self._echo is None:
            self._echo = EchoPath(self.sample_rate, self.hop, self.channels, self._in.shape[1])
            log.info("denoise: echo canceller on (reference given)")
        return ref

    def _echo_write(self, ref: np.ndarray | None, pos: int, start: int, dst: np.ndarray) -> None:
        """Reference samples for the mic samples ``dst`` just written at ``start``."""
        e = self._echo
        if e is None:
            return
        e.write(None if ref is None else ref[pos : pos + dst.shape[1]], start, dst)
        if e.refused:
            self._warn_once("ref-self", "the reference is the mic itself: echo canceller off")  # type: ignore[attr-defined]

    @property
    def _echo_suffix(self) -> str:
        return "" if self._echo is None else f"; {self.echo_status}"

    def _reset_echo(self) -> None:
        if self._echo is not None:
            self._echo.reset()

    def _echo_keep(self, offset: int, fill: int) -> None:
        if self._echo is not None:
            self._echo.keep(offset, fill)

    def _cancel_echo(self, hops: int) -> EchoPath | None:
        """The new hops of the input buffer become the mic minus the linear echo estimate."""
        e = self._echo
        if e is not None:
            e.cancel(self._in, self.window - self.hop, hops)
        return e

    def _echo_gains(
        self, echo: EchoPath | None, hops: int, power: np.ndarray, linked: bool
    ) -> np.ndarray | None:
        """The residual-echo gains of the frames just analysed (None without a canceller)."""
        if echo is None:
            return None
        return echo.gains(lambda b: self._frames(b, hops), power, linked, self._in)

    def _frames(self, buf: np.ndarray, hops: int) -> np.ndarray:
        """Windowed ``[channels, hops, window]`` frames of a buffer; frames overlap by half."""
        h, n = self.hop, self.window
        s_c, s_t = buf.strides
        view = np.lib.stride_tricks.as_strided(
            buf, (self.channels, hops, n), (s_c, h * s_t, s_t), writeable=False
        )
        return view * self._win
