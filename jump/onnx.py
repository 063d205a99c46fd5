"""ONNX Runtime sessions: one place that picks execution providers and session options.

onnxruntime is imported lazily so that a missing install is a clear error at use time,
not an import failure of the whole package.
"""

from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger("jump.onnx")


class RuntimeMissingError(RuntimeError):
    """onnxruntime is not importable; the message tells the user how to install it."""


def import_ort() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - exercised by an e2e test
        raise RuntimeMissingError(
            "onnxruntime is not installed: run `pip install -r requirements.txt` "
            f"in Jump's .venv ({exc})"
        ) from exc
    return onnxruntime


def create_session(
    path: str | os.PathLike[str],
    threads: int = 1,
    providers: list[str] | None = None,
) -> Any:
    """A CPU-friendly InferenceSession: full graph optimisation, quiet logs, fixed threads.

    Real-time filters run many small models beside OBS, so each session gets few threads
    (intra-op ``threads``, inter-op 1) instead of ORT's default of one per core.
    """
    ort = import_ort()
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = max(1, int(threads))
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3  # initializer-in-inputs warnings from old exporters are noise
    return ort.InferenceSession(
        os.fspath(path), sess_options=opts, providers=providers or ["CPUExecutionProvider"]
    )
