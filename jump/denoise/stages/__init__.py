"""Denoise stages: one file per method, registered by name, one interface.

A stage takes a block of STFT frames for ``rows`` parallel streams (channels, or 1 when
linked) and returns, per frame, either a real **gain** per bin or an enhanced complex
**spectrum**. It owns its state (recurrent model state, noise statistics): ``reset()``
forgets it, ``resize(rows)`` restarts it for another row count. ``lookahead_hops`` says
how many hops late its output is (output frame t belongs to input frame t - L); the
engine delays what it mixes with it and reports the extra latency.

Stages that run a model are found by the manifest entry's ``"type"`` field
(``"spectral-mask"`` -> ``stages/spectral_mask.py``); the filter's model list and the
CLI's ``--model`` choices are the manifest's denoise entries whose type is registered
here. Adding a model family is one file here (decorated with ``@register("name")``) plus
a manifest entry — see docs/design.md.

The gate, the strength floor, the dry/wet mix and channel linking are the engine's and
apply to any stage.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from jump.denoise.stft import Framing, default_framing
from jump.named import NamedTypes

if TYPE_CHECKING:
    from pathlib import Path

    from jump.catalogue import ModelEntry


@dataclass(frozen=True)
class StageContext:
    """The engine's framing, which every stage is built for."""

    sample_rate: int
    hop: int
    window: int
    n_fft: int
    rows: int
    provider: str = "cpu"  # ONNX Runtime provider for model stages (jump.sessions names)

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def hop_s(self) -> float:
        return self.hop / self.sample_rate


@dataclass
class StageInput:
    """One block of ``hops`` frames for ``rows`` streams, at the engine's bins.

    power:    |X|^2, float32 [rows, hops, bins] (mean over channels when linked)
    spectrum: X, complex64 [rows, hops, bins]; only for stages with ``needs_spectrum``
    noise:    the engine's noise PSD per hop, float64 [rows, hops, bins]
    gain:     the previous stage's gain when stages are chained ("both"), else None
    """

    power: np.ndarray
    noise: np.ndarray
    spectrum: np.ndarray | None = None
    gain: np.ndarray | None = None


@dataclass
class StageOutput:
    """Exactly one of ``gain`` (real, 0..1) or ``spectrum`` (complex), [rows, hops, bins]."""

    gain: np.ndarray | None = None
    spectrum: np.ndarray | None = None
    # a model's own per-hop evidence of speech (bool [hops]) for the gate, if it has one
    speech: np.ndarray | None = None


class Stage:
    """What the engine calls on a stage. Stage classes subclass it: the optional hooks
    have harmless defaults here, so the engine calls every hook on every stage.

    Required: ``name``, ``rows``, ``__call__``, ``resize`` and ``reset``; the class
    methods of ``StageType`` build it.
    """

    name: str = ""  # what the status line shows: the model id, or the method
    rows: int = 1
    lookahead_hops: int = 0  # output frame t belongs to input frame t - lookahead_hops
    needs_spectrum: bool = False  # the block carries the complex spectrum

    def __call__(self, block: StageInput) -> StageOutput:
        raise NotImplementedError

    def resize(self, rows: int) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError

    # -- optional hooks ------------------------------------------------------------------

    def configure(self, strength_db: float) -> None:
        """The user's strength (largest attenuation, dB), for a stage that limits its own
        attenuation (DeepFilterNet3); called on every settings change."""

    def realtime_factor(self) -> float:
        """CPU seconds per audio second on this machine, measured now; ``jump.denoise.auto``
        asks the best-quality candidate before choosing it. 0 = not measured."""
        return 0.0


class StageType(Protocol):
    """A registered stage class: how to frame for it and how to build it."""

    @classmethod
    def framing(cls, entry: ModelEntry | None, sample_rate: int, window: int) -> Framing: ...

    @classmethod
    def create(cls, ctx: StageContext, entry: ModelEntry | None, path: Path | None) -> Stage: ...


_TYPES: NamedTypes[type] = NamedTypes("denoise stage")
register = _TYPES.register  # class decorator: make a stage type available under a name


def _load_all() -> None:
    """Import every module in this package: each registers its stages (a new file is found
    without being listed anywhere)."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def stage_type(name: str) -> StageType:
    """The stage type registered as ``name``; KeyError names the known ones."""
    _load_all()
    return _TYPES.get(name)  # type: ignore[return-value]


def names() -> list[str]:
    _load_all()
    return _TYPES.names()


def model_ids() -> list[str]:
    """Manifest ids of the denoise models a registered stage can run (filter list, CLI choices)."""
    from jump.catalogue import load_manifest

    _load_all()
    return [e.id for e in load_manifest().values() if e.kind == "denoise" and e.type in _TYPES]


def framing_for(entry: ModelEntry | None, sample_rate: int, window: int) -> Framing:
    """The framing ``entry``'s stage wants (the default one without a usable entry)."""
    if entry is None:
        return default_framing(window)
    try:
        return stage_type(str(entry.type)).framing(entry, sample_rate, window)
    except Exception:
        return default_framing(window)
