"""Opens the matte model a setting names: the right runner for its kind, or a fallback.

A segmentation model (probability out) gets ``SegmentationModel``; a recurrent matting
model (``"architecture": "rvm"`` in the manifest) gets ``RecurrentMattingModel``. When the
named model's file is missing, the first present model of its manifest entry's
``fallback`` list runs instead, with one log line: a streamer who picked RVM without
fetching it still gets a matte rather than a passed-through camera. (Only heavy models
list fallbacks; a light model never silently turns into a heavy one.)
"""

from __future__ import annotations

import logging
import os
from typing import Any

from jump import models as registry
from jump.matte.model import MatteModelError, SegmentationModel
from jump.matte.rvm import RecurrentMattingModel, is_recurrent
from jump.matte.settings import MatteSettings

log = logging.getLogger("jump.matte")


def open_matte_model(settings: MatteSettings, models_dir: str | os.PathLike[str] | None) -> Any:
    """A ready model runner for ``settings.model`` (or its fallback); MatteModelError if none."""
    model_id = fallback_model(settings.model, models_dir)
    try:
        entry = registry.get_entry(model_id)
    except registry.ModelError as exc:
        raise MatteModelError(str(exc)) from exc
    runner = RecurrentMattingModel if is_recurrent(entry.spec) else SegmentationModel
    return runner(model_id, models_dir, settings.threads, settings.provider)


def fallback_model(model_id: str, models_dir: str | os.PathLike[str] | None) -> str:
    """``model_id`` if its file is present, else the first present model of its entry's
    ``fallback`` list (logged once per load); the id itself when none is present."""
    manifest = registry.load_manifest()
    entry = manifest.get(model_id)
    if entry is None or registry.locate(entry, models_dir) is not None:
        return model_id  # unknown ids fail later with the catalogue's own message
    for candidate in entry.spec.get("fallback", ()):
        other = manifest.get(candidate)
        if other is not None and registry.locate(other, models_dir) is not None:
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
