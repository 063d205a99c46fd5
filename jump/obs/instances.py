"""The live filter instances by the key OBS holds as their ``data`` pointer.

``data`` handed to OBS is a small integer key into this table, never a Python pointer.
Its own module so that both the registry (create/destroy) and the property buttons
(``jump.obs.data``) reach it without importing each other.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

_instances: dict[int, tuple[str, Any, Any]] = {}  # key -> (type id, filter, its Source)
_keys = itertools.count(1)
_lock = threading.Lock()


def add(type_id: str, instance: Any, source: Any) -> int:
    """Keep ``instance``; returns the key OBS gets as ``data``."""
    with _lock:
        key = next(_keys)
        _instances[key] = (type_id, instance, source)
    return key


def remove(data: int) -> tuple[str, Any, Any] | None:
    with _lock:
        return _instances.pop(data or 0, None)


def lookup(data: int) -> tuple[str, Any, Any] | None:
    """(type id, filter, source) behind OBS's ``data``, or None."""
    return _instances.get(data or 0)


def instance_for(data: int) -> Any | None:
    """The live filter instance behind OBS's ``data`` pointer (property buttons), or None."""
    entry = lookup(data)
    return entry[1] if entry else None


def instances(type_id: str) -> list[Any]:
    """Live instances of a type (tests and diagnostics)."""
    with _lock:
        return [inst for tid, inst, _ in _instances.values() if tid == type_id]
