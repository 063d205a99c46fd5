"""Opens the matte model a setting names: the right runner for its kind, or a fallback.

A segmentation model (probability out) gets ``SegmentationModel``; a recurrent matting
model (``"architecture": "rvm"`` in the manifest) gets ``RecurrentMattingModel``. When the
named model's file is missing, the next matte model in manifest order whose file is there
runs instead, with one log line: a streamer who picked RVM without fetching it still gets
a matte rather than a passed-through camera.
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
    """``model_id`` if its file is present, else the next present matte model (logged)."""
    manifest = registry.load_manifest()
    entry = manifest.get(model_id)
    if entry is None or registry.locate(entry, models_dir) is not None:
        return model_id  # unknown ids fail later with the catalogue's own message
    ids = [e.id for e in manifest.values() if e.kind == "matte" and not e.spec.get("variant_of")]
    start = ids.index(model_id) + 1 if model_id in ids else 0
    for candidate in ids[start:] + ids[:start]:
        if candidate != model_id and registry.locate(manifest[candidate], models_dir) is not None:
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
