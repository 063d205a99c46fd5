"""Jump's OBS-free matte engine: webcam person segmentation with clean, stable edges.

    from jump.matte import MatteSettings, MatteEngine, MatteWorker
    alpha = MatteEngine(MatteSettings()).process(frame_bgra)     # synchronous, CLI/eval/tests
    worker = MatteWorker(MatteSettings())                    # one thread, latest frame wins

Heavy modules (onnxruntime, cv2) load on first use of these names so that importing
``jump.matte`` (e.g. for ``python -m jump --help``) stays instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jump.matte.settings import MatteSettings

if TYPE_CHECKING:
    from jump.matte.engine import MatteEngine
    from jump.matte.model import MatteModelError
    from jump.matte.worker import MatteWorker

__all__ = ["MatteEngine", "MatteModelError", "MatteSettings", "MatteWorker"]

_LAZY = {
    "MatteEngine": "jump.matte.engine",
    "MatteModelError": "jump.matte.model",
    "MatteWorker": "jump.matte.worker",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
