"""Make ONNX Runtime's DirectML provider use the DirectML.dll of its own wheel (Windows).

Inside OBS, Windows may resolve a bare ``DirectML.dll`` to an older copy in System32 (or
in another plugin's folder): obs-backgroundremoval hit this, and its DirectML provider then
failed or crashed. onnxruntime-directml loads the DLL by absolute path only from 1.21 on
(hence ``>=1.21`` in requirements.txt); for any version, loading the wheel's copy by its
absolute path *before* ONNX Runtime asks for it makes Windows reuse that module, and
``os.add_dll_directory`` puts the wheel's folder on the restricted DLL search path that
Python 3.8+ uses.

Adapter: Jump uses DirectML ``device_id`` 0, which is also OBS's default renderer adapter;
on a hybrid laptop where OBS renders on another adapter, inference stays on adapter 0
(docs/platforms.md says what that means and what was not checked).

Standard library only; a no-op elsewhere than Windows.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger("jump")
_done: list[str] = []  # the DLL preloaded, once per process


def wheel_dll(spec_origin: str | None = None) -> Path | None:
    """DirectML.dll inside the installed onnxruntime package (None if absent)."""
    if spec_origin is None:
        spec = importlib.util.find_spec("onnxruntime")
        spec_origin = spec.origin if spec is not None else None
    if not spec_origin:
        return None
    dll = Path(spec_origin).parent / "capi" / "DirectML.dll"
    return dll if dll.is_file() else None


def preload(platform: str | None = None) -> Path | None:
    """On Windows, load the wheel's DirectML.dll by absolute path; returns it when loaded."""
    if (sys.platform if platform is None else platform) != "win32" or _done:
        return None
    dll = wheel_dll()
    if dll is None:
        return None
    try:
        os.add_dll_directory(str(dll.parent))  # type: ignore[attr-defined]
        ctypes.WinDLL(str(dll))  # type: ignore[attr-defined]
    except (OSError, AttributeError) as exc:
        log.warning("DirectML.dll from %s did not load (%s); DirectML may fail", dll, exc)
        return None
    _done.append(str(dll))
    return dll
