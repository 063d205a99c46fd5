"""Model manifest, lookup and download.

The manifest is every ``models/*.json`` file in the project (one file per family,
so the matte and denoise engines each own theirs). Each file holds a list of entries::

    {"id": "mediapipe", "kind": "matte", "file": "matte/mediapipe.onnx",
     "sha256": "...", "licence": "Apache-2.0", "url": "https://...",
     "type": "segmentation", ...fields that type reads}

``"type"`` names the registered class that runs the model (a matte model type in
``jump/matte/models/``, a denoise stage in ``jump/denoise/stages/``); entries written
before it was called so use ``"engine"``, read the same.

``file`` is relative to a model folder. An entry with ``"variant_of": BASE`` (an FP16 or
INT8 build made on the user's machine by ``python -m jump models optimize``) inherits every
field it does not set from BASE, so editing a base entry never leaves its variants stale.

A model is looked up, in order, in:
1. a folder the user set (filter property or ``--models``),
2. ``$JUMP_MODELS`` (tests and CI point it at ``../shared/models``),
3. the project's own ``models/`` folder (where ``python -m jump models fetch`` puts them).

The models the defaults use ship in ``models/`` (``"shipped": true``); the others are
fetched by users, with checksum verification.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_MODELS = Path(__file__).resolve().parent.parent / "models"


class ModelError(RuntimeError):
    """A model is unknown, missing or fails its checksum. The message is meant for users."""


@dataclass(frozen=True)
class ModelEntry:
    id: str
    kind: str
    file: str
    sha256: str
    licence: str
    url: str
    spec: dict[str, Any] = field(default_factory=dict)  # engine-specific fields

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ModelEntry:
        base = {k: raw[k] for k in ("id", "kind", "file", "sha256", "licence", "url")}
        spec = {k: v for k, v in raw.items() if k not in base}
        if "engine" in spec:  # the field's name before "type" (a user's own manifest)
            spec.setdefault("type", spec.pop("engine"))
        return cls(**base, spec=spec)

    @property
    def type(self) -> str | None:
        """The manifest's ``"type"``: which registered class runs this model (a matte model
        type, a denoise stage); None when the entry does not say."""
        value = self.spec.get("type")
        return None if value is None else str(value)


# folder -> (signature of its *.json files, parsed manifest). Parsing every file cost the
# matte filter's render thread a re-read per frame; now a call costs a few stat()s.
_cache: dict[Path, tuple[tuple[tuple[str, int, int], ...], dict[str, ModelEntry]]] = {}
_cache_lock = threading.Lock()


def _signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    rows = []
    for path in sorted(folder.glob("*.json")):
        st = path.stat()
        rows.append((path.name, st.st_mtime_ns, st.st_size))
    return tuple(rows)


def _parse(folder: Path) -> dict[str, ModelEntry]:
    raws: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json")):
        for raw in json.loads(path.read_text(encoding="utf-8")):
            if raw["id"] in raws:
                raise ModelError(f"model id {raw['id']!r} is defined twice (in {path.name})")
            raws[raw["id"]] = raw
    for raw in raws.values():
        base = raws.get(raw.get("variant_of", ""))
        if base is not None:
            inherited = {k: v for k, v in base.items() if k not in raw}
            raw.update(inherited)
    return {key: ModelEntry.from_json(raw) for key, raw in raws.items()}


def load_manifest(folder: Path = PROJECT_MODELS) -> dict[str, ModelEntry]:
    """Every entry of ``folder/*.json`` by id; parsed once, again only when a file changes.

    The dict is shared: treat it as read-only.
    """
    folder = Path(folder)
    signature = _signature(folder)
    with _cache_lock:
        cached = _cache.get(folder)
        if cached is not None and cached[0] == signature:
            return cached[1]
    manifest = _parse(folder)
    with _cache_lock:
        _cache[folder] = (signature, manifest)
    return manifest


def forget_manifests() -> None:
    """Drop the parsed manifests (a script reload); the next lookup reads the files again."""
    with _cache_lock:
        _cache.clear()


def get_entry(model_id: str) -> ModelEntry:
    manifest = load_manifest()
    try:
        return manifest[model_id]
    except KeyError:
        known = ", ".join(sorted(manifest))
        raise ModelError(f"unknown model {model_id!r}; known models: {known}") from None


def search_dirs(user_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    dirs: list[Path] = []
    if user_dir:
        dirs.append(Path(user_dir).expanduser())
    env = os.environ.get("JUMP_MODELS")
    if env:
        dirs.extend(Path(p).expanduser() for p in env.split(os.pathsep) if p)
    dirs.append(PROJECT_MODELS)
    return dirs


def locate(entry: ModelEntry, user_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """First existing copy of the model's file along the search path, or None."""
    for folder in search_dirs(user_dir):
        candidate = folder / entry.file
        if candidate.is_file():
            return candidate
    return None


def find_model(model_id: str, user_dir: str | os.PathLike[str] | None = None) -> Path:
    """Path of a model file; raises ModelError with a message that tells the user what to do."""
    entry = get_entry(model_id)
    path = locate(entry, user_dir)
    if path is None:
        where = ", ".join(str(d) for d in search_dirs(user_dir))
        raise ModelError(
            f"model {model_id!r} ({entry.file}) not found in {where}; "
            f"run `python -m jump models fetch {model_id}`"
        )
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(entry: ModelEntry, path: Path) -> bool:
    return sha256_of(path) == entry.sha256


def fetch(
    entry: ModelEntry,
    dest_dir: Path = PROJECT_MODELS,
    base_url: str | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download one model into ``dest_dir`` and verify its checksum before it lands.

    ``base_url`` replaces the upstream URL with ``{base_url}/{entry.file}`` (a mirror,
    or a local server in tests).
    """
    import urllib.request  # only fetching needs it; settings import this module

    url = f"{base_url.rstrip('/')}/{entry.file}" if base_url else entry.url
    target = dest_dir / entry.file
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            shutil.copyfileobj(resp, out, 1 << 20)
        got = sha256_of(tmp)
        if got != entry.sha256:
            raise ModelError(
                f"{entry.id}: checksum mismatch for {url} (got {got[:12]}…, "
                f"expected {entry.sha256[:12]}…); not installed"
            )
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def status_rows(
    entries: Iterable[ModelEntry], user_dir: str | os.PathLike[str] | None = None
) -> list[tuple[ModelEntry, Path | None, bool]]:
    """(entry, path or None, checksum ok) for each entry — what `jump models` prints."""
    rows = []
    for entry in entries:
        path = locate(entry, user_dir)
        rows.append((entry, path, bool(path and verify(entry, path))))
    return rows
