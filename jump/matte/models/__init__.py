"""Matte model types: one file per type, registered by name, one interface.

A module here defines a ``jump.matte.model.MatteModel`` subclass and registers it with
``@model_type("name")``; a manifest entry (``models/matte.json``) whose ``"type"`` is that
name runs with it (``"segmentation"`` when the entry names none). Every module of this
package is imported when a model is first loaded (``pkgutil``, as the denoise stages
are found), so a new type is one file here plus its manifest entries — see docs/design.md.
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil

from jump import catalogue
from jump.matte.model import MatteModel, MatteModelError
from jump.named import NamedTypes

log = logging.getLogger("jump.matte")

_TYPES: NamedTypes[type] = NamedTypes("matte model type")
model_type = _TYPES.register  # class decorator, by the manifest's "type" value


def _load_all() -> None:
    """Import every module in this package: each registers its model types."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def names() -> list[str]:
    _load_all()
    return _TYPES.names()


def model_type_of(
    model_id: str, models_dir: str | os.PathLike[str] | None = None
) -> tuple[str, type[MatteModel]]:
    """(the id that runs, its model type): the class its manifest entry's ``"type"`` names.

    When the model's file is missing, the first present model of its entry's
    ``fallback`` list runs instead (``fallback_model``)."""
    model_id = fallback_model(model_id, models_dir)
    try:
        kind = catalogue.get_entry(model_id).type or "segmentation"
    except catalogue.ModelError as exc:
        raise MatteModelError(str(exc)) from exc
    _load_all()
    if kind not in _TYPES:
        raise MatteModelError(f"model {model_id!r}: no matte model type {kind!r}")
    return model_id, _TYPES.get(kind)


def load_matte_model(
    model_id: str,
    models_dir: str | os.PathLike[str] | None = None,
    threads: int = 2,
    provider: str = "auto",
) -> MatteModel:
    """The model object for ``model_id`` (``model_type_of``), its session open."""
    model_id, kind = model_type_of(model_id, models_dir)
    return kind(model_id, models_dir, threads, provider)


def fallback_model(model_id: str, models_dir: str | os.PathLike[str] | None) -> str:
    """``model_id`` if its file is present, else the first present model of its entry's
    ``fallback`` list, with one log line; the id itself when none is present.

    A streamer who picked RVM without fetching it still gets a matte rather than a
    passed-through camera. Only heavy models list fallbacks: a missing light model never
    silently turns into a heavy one.
    """
    manifest = catalogue.load_manifest()
    entry = manifest.get(model_id)
    if entry is None or catalogue.locate(entry, models_dir) is not None:
        return model_id  # unknown ids fail later with the catalogue's own message
    for candidate in entry.spec.get("fallback", ()):
        other = manifest.get(candidate)
        if other is not None and catalogue.locate(other, models_dir) is not None:
            log.warning(
                "Jump Matte: model %r (%s) not found; using %r instead "
                "(run `python -m jump models fetch %s`)",
                model_id,
                entry.file,
                candidate,
                model_id,
            )
            return candidate
    return model_id  # nothing to fall back to: the load fails with the missing-file message
