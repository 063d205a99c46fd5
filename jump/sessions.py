"""ONNX Runtime sessions: one place that picks execution providers and session options.

Provider names users see (filter property, ``--provider``) are short: ``auto``, ``cpu``,
``cuda``, ``tensorrt``, ``dml``, ``coreml``. ``auto`` tries, in order, DirectML (Windows),
TensorRT (only when its libraries are installed), CUDA, CoreML, and always ends on the CPU.

ONNX Runtime falls back to the CPU *silently* when a GPU provider cannot load (missing
CUDA/cuDNN, wrong driver): the session works, just slowly. ``create_session`` therefore
compares ``session.get_providers()`` with what was asked for and logs one line that says
which provider actually runs, and why not the one requested.

onnxruntime is imported lazily so that a missing install is a clear error at use time,
not an import failure of the whole package.
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import io
import logging
import os
import sys
from collections.abc import Sequence
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

log = logging.getLogger("jump.sessions")

PROVIDERS: dict[str, str] = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "dml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
}
SHORT_NAMES: dict[str, str] = {v: k for k, v in PROVIDERS.items()}
PROVIDER_CHOICES: tuple[str, ...] = ("auto", *PROVIDERS)
AUTO_ORDER: tuple[str, ...] = ("dml", "tensorrt", "cuda", "coreml", "cpu")

# A provider entry as InferenceSession takes it: a name, or (name, options).
ProviderSpec = str | tuple[str, dict[str, Any]]


class RuntimeMissingError(RuntimeError):
    """onnxruntime is not importable; the message tells the user how to install it."""


def import_ort() -> Any:
    from jump import directml

    directml.preload()  # Windows: the wheel's DirectML.dll, not System32's (jump/directml.py)
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - exercised by an e2e test
        raise RuntimeMissingError(
            "onnxruntime is not installed: run `pip install -r requirements.txt` "
            f"in Jump's .venv ({exc})"
        ) from exc
    return onnxruntime


def user_cache_dir() -> Path:
    """Jump's per-user cache folder (``$JUMP_CACHE`` overrides the platform default)."""
    env = os.environ.get("JUMP_CACHE")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local"
        return Path(base) / "jump" / "cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "jump"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "jump"


def tensorrt_cache_dir() -> Path:
    """Where TensorRT keeps built engines and timing caches (seconds of build, once)."""
    return user_cache_dir() / "tensorrt"


def tensorrt_installed() -> bool:
    """True when TensorRT's runtime library can be found.

    onnxruntime-gpu always lists TensorrtExecutionProvider, even without TensorRT; trying
    it then costs an error and a retry on every session, so ``auto`` skips it.
    """
    if importlib.util.find_spec("tensorrt_libs") or importlib.util.find_spec("tensorrt"):
        return True
    return ctypes.util.find_library("nvinfer") is not None


def provider_options(short: str, device_id: int = 0, cuda_graph: bool = False) -> dict[str, Any]:
    """Options for one provider: fixed shapes, so plan once and cache what can be cached."""
    if short == "cuda":
        # cuDNN's heuristic pick ran as fast as the exhaustive search on the matte models
        # (H100: 2.26 vs 2.30 ms) without its 0.6-1.9 s first-frame stall, a visible
        # hitch when a filter starts; ORT's "DEFAULT" falls back to slow kernels (46 ms).
        # Copies stay on the default stream: the host sees finished outputs, no extra sync.
        opts: dict[str, Any] = {
            "device_id": device_id,
            "cudnn_conv_algo_search": "HEURISTIC",
            "do_copy_in_default_stream": True,
        }
        if cuda_graph:
            opts["enable_cuda_graph"] = True  # needs FixedShapeRunner's fixed device buffers
        return opts
    if short == "tensorrt":
        cache = tensorrt_cache_dir()
        return {
            "device_id": device_id,
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(cache),
            "trt_timing_cache_enable": True,
            "trt_timing_cache_path": str(cache),
        }
    if short == "dml":
        return {"device_id": device_id}
    return {}


def resolve_providers(
    name: str = "auto",
    *,
    device_id: int = 0,
    cuda_graph: bool = False,
    available: Sequence[str] | None = None,
    platform: str | None = None,
    trt_installed: bool | None = None,
) -> list[ProviderSpec]:
    """Providers (with options) to hand to ``InferenceSession``, best first, CPU last.

    ``name`` is ``auto`` or one of ``PROVIDERS``' short names (full ORT names work too).
    A provider this onnxruntime build lacks is dropped with a warning that says what to
    install; the CPU is always appended, so the list never comes back empty.
    ``cuda_graph`` asks CUDA to replay the model as one graph (only with FixedShapeRunner).
    ``available``/``platform``/``trt_installed`` default to the real system; tests pass them.
    """
    key = SHORT_NAMES.get(name, name).strip().lower()
    if key not in PROVIDER_CHOICES:
        raise ValueError(f"unknown provider {name!r}; choose one of {', '.join(PROVIDER_CHOICES)}")
    if available is None:
        available = import_ort().get_available_providers()
    platform = platform or sys.platform
    have = set(available)

    if key == "auto":
        wanted = [
            short
            for short in AUTO_ORDER
            if PROVIDERS[short] in have
            and not (short == "dml" and platform != "win32")
            and not (short == "tensorrt" and not _trt_ok(trt_installed))
        ]
    elif PROVIDERS[key] in have:
        # TensorRT hands the nodes it cannot build to CUDA rather than to the CPU.
        wanted = [key, "cuda"] if key == "tensorrt" and PROVIDERS["cuda"] in have else [key]
    else:
        log.warning(
            "provider %r requested, but this onnxruntime has only %s: %s; using the CPU",
            key,
            ", ".join(SHORT_NAMES.get(p, p) for p in available),
            _install_hint(key),
        )
        wanted = []
    if "cpu" not in wanted:
        wanted.append("cpu")

    specs: list[ProviderSpec] = []
    for short in wanted:
        opts = provider_options(short, device_id, cuda_graph)
        specs.append((PROVIDERS[short], opts) if opts else PROVIDERS[short])
    return specs


def _trt_ok(trt_installed: bool | None) -> bool:
    return tensorrt_installed() if trt_installed is None else trt_installed


def _install_hint(short: str) -> str:
    return {
        "cuda": "install onnxruntime-gpu (requirements-gpu.txt, see docs/gpu.md)",
        "tensorrt": "install onnxruntime-gpu and TensorRT (docs/gpu.md)",
        "dml": "install onnxruntime-directml (Windows)",
        "coreml": "use the macOS onnxruntime wheel",
    }.get(short, "see docs/gpu.md")


def provider_name(spec: ProviderSpec) -> str:
    return spec[0] if isinstance(spec, tuple) else spec


def running_provider(session: Any) -> str:
    """Short name of the provider the session actually runs first (``cpu``, ``cuda``…)."""
    actual = session.get_providers()
    return SHORT_NAMES.get(actual[0], actual[0]) if actual else "cpu"


def cuda_graph_enabled(session: Any) -> bool:
    """True when the session replays its model as a CUDA graph."""
    options = session.get_provider_options().get("CUDAExecutionProvider", {})
    return str(options.get("enable_cuda_graph", "0")).lower() in ("1", "true")


def create_session(
    path: str | os.PathLike[str] | bytes,
    threads: int = 1,
    providers: str | Sequence[ProviderSpec] | None = None,
    name: str | None = None,
) -> Any:
    """An InferenceSession on the best provider asked for, with one log line saying which runs.

    ``providers`` is a short name (``auto``, ``cuda``…), a list as ``resolve_providers``
    returns, or None for the CPU. A provider that fails to load is dropped and the next
    one tried; ORT's own silent fallback is turned off so the log tells the truth.
    ``path`` may be a serialised model (bytes, e.g. a graph Jump built); ``name`` then
    names it in the log line.

    Real-time filters run many small models beside OBS, so each session gets few threads
    (intra-op ``threads``, inter-op 1) instead of ORT's default of one per core.
    """
    ort = import_ort()
    if providers is None:
        specs: list[ProviderSpec] = ["CPUExecutionProvider"]
    elif isinstance(providers, str):
        specs = resolve_providers(providers)
    else:
        specs = list(providers)
    requested = provider_name(specs[0])
    names = {provider_name(s) for s in specs}
    if names & {"CUDAExecutionProvider", "TensorrtExecutionProvider"}:
        _preload_cuda_libraries(ort)
    if "TensorrtExecutionProvider" in names:
        tensorrt_cache_dir().mkdir(parents=True, exist_ok=True)

    session = None
    errors: list[str] = []
    while specs:
        try:
            session = _new_session(ort, path, threads, specs)
            break
        except Exception as exc:  # ORT raises its own pybind types (Fail, EPFail…) too
            failed = provider_name(specs[0])
            if failed == "CPUExecutionProvider":
                raise
            errors.append(f"{SHORT_NAMES.get(failed, failed)}: {str(exc).strip()[:300]}")
            specs = _without_cuda_graph(specs) or specs[1:] or ["CPUExecutionProvider"]
    assert session is not None
    _report_provider(name or path, requested, session, errors)
    return session


def _without_cuda_graph(specs: list[ProviderSpec]) -> list[ProviderSpec] | None:
    """The same providers with CUDA graphs off, or None if they were not on.

    Graph capture needs every node on CUDA; a model with a shape op on the CPU refuses
    it, and plain CUDA is then still far better than falling to the CPU.
    """
    first = specs[0]
    if not (isinstance(first, tuple) and first[1].get("enable_cuda_graph")):
        return None
    opts = {k: v for k, v in first[1].items() if k != "enable_cuda_graph"}
    return [(first[0], opts), *specs[1:]]


def _new_session(ort: Any, path: Any, threads: int, specs: list[ProviderSpec]) -> Any:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = max(1, int(threads))
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # ORT's pool threads spin after each run by default. Beside OBS that burns a core:
    # measured 34 ms of CPU per 33 ms frame with spinning, 9.7 ms without, for +1.5 ms of
    # latency (mediapipe, 2 threads, 2-core machine; docs/benchmarks.md).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3  # initializer-in-inputs warnings from old exporters are noise
    if any(provider_name(s) == "DmlExecutionProvider" for s in specs):
        opts.enable_mem_pattern = False  # DirectML rejects memory patterns
    # ORT prints "EP Error … Falling back" banners on stdout; we report that ourselves.
    with redirect_stdout(io.StringIO()):
        source = path if isinstance(path, bytes) else os.fspath(path)
        return ort.InferenceSession(source, sess_options=opts, providers=specs, enable_fallback=0)


def _report_provider(path: Any, requested: str, session: Any, errors: list[str]) -> None:
    actual = session.get_providers()[0]
    model = Path(os.fspath(path)).name
    if actual == requested:
        if errors:  # same provider, an option dropped (CUDA graphs)
            log.warning("%s runs on %s (%s)", model, SHORT_NAMES.get(actual, actual), errors[0])
        else:
            log.info("%s runs on %s", model, SHORT_NAMES.get(actual, actual))
        return
    why = "; ".join(errors) or "provider not used by onnxruntime"
    log.warning(
        "%s runs on %s, NOT on the requested %s (%s)",
        model,
        SHORT_NAMES.get(actual, actual),
        SHORT_NAMES.get(requested, requested),
        why,
    )


def _preload_cuda_libraries(ort: Any) -> None:
    """Load CUDA/cuDNN from the nvidia-* wheels (or PyTorch's) before the CUDA provider.

    onnxruntime-gpu finds pip-installed CUDA libraries only through this call (or an
    earlier ``import torch``); without it the CUDA provider fails to load on many setups.
    """
    preload = getattr(ort, "preload_dlls", None)
    if preload is None:  # onnxruntime < 1.21: rely on the system's library path
        return
    try:
        with redirect_stdout(io.StringIO()):
            preload()
    except Exception as exc:  # a failed preload is reported by the provider itself
        log.debug("onnxruntime.preload_dlls failed: %s", exc)


def cpu_only(provider: str) -> bool:
    """True when ``provider`` resolves to the CPU alone (no GPU provider in this build)."""
    try:
        first = resolve_providers(provider)[0]
    except Exception:
        return True
    name = first[0] if isinstance(first, tuple) else first
    return name == "CPUExecutionProvider"
