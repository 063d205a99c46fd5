"""Execution-provider selection, fallback detection and the IO-bound runner.

CI has no GPU: the GPU branches are covered by handing ``resolve_providers`` the provider
lists that onnxruntime-gpu / -directml / macOS builds report, and by a fake
InferenceSession that fails to load a GPU provider the way ORT does.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from jump import sessions
from jump.lab.fixed_shape import FixedShapeRunner

DATA = Path(__file__).resolve().parents[1] / "data"
# mediapipe ships in models/; selfie and SINet are fetched (CI has them in ../shared)
MATTE = [
    "mediapipe.onnx",
    pytest.param("selfie_segmentation.onnx", marks=pytest.mark.shared),
    pytest.param("SINet_Softmax_simple.onnx", marks=pytest.mark.shared),
]

CPU_ONLY = ["AzureExecutionProvider", "CPUExecutionProvider"]
ORT_GPU = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
ORT_DML = ["DmlExecutionProvider", "CPUExecutionProvider"]
ORT_MAC = ["CoreMLExecutionProvider", "AzureExecutionProvider", "CPUExecutionProvider"]


def names(specs: list) -> list[str]:
    return [sessions.provider_name(s) for s in specs]


def resolve(name: str, available: list[str], platform: str = "linux", trt: bool = False) -> list:
    return sessions.resolve_providers(
        name, available=available, platform=platform, trt_installed=trt
    )


@pytest.mark.parametrize(
    ("available", "platform", "trt", "expected"),
    [
        (CPU_ONLY, "linux", False, ["CPUExecutionProvider"]),
        (ORT_GPU, "linux", False, ["CUDAExecutionProvider", "CPUExecutionProvider"]),
        (ORT_GPU, "linux", True, ORT_GPU),
        (ORT_DML, "win32", False, ORT_DML),
        (ORT_DML, "linux", False, ["CPUExecutionProvider"]),  # DirectML is Windows-only
        (ORT_MAC, "darwin", False, ["CoreMLExecutionProvider", "CPUExecutionProvider"]),
        (
            ["CPUExecutionProvider", "CUDAExecutionProvider", "DmlExecutionProvider"],
            "win32",
            False,
            ["DmlExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
        ),
    ],
)
def test_auto_order(available: list[str], platform: str, trt: bool, expected: list[str]) -> None:
    assert names(resolve("auto", available, platform, trt)) == expected


def test_explicit_choice_keeps_cpu_last_and_tensorrt_falls_to_cuda() -> None:
    assert names(resolve("cuda", ORT_GPU)) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    # An explicit TensorRT request is honoured even when auto would skip it.
    assert names(resolve("tensorrt", ORT_GPU, trt=False)) == ORT_GPU
    assert names(resolve("cpu", ORT_GPU)) == ["CPUExecutionProvider"]
    assert names(resolve("CUDAExecutionProvider", ORT_GPU))[0] == "CUDAExecutionProvider"


def test_missing_provider_warns_and_uses_cpu(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="jump.sessions"):
        specs = resolve("cuda", CPU_ONLY)
    assert names(specs) == ["CPUExecutionProvider"]
    assert "onnxruntime-gpu" in caplog.text


def test_unknown_provider_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown provider"):
        resolve("vulkan", CPU_ONLY)


def test_tensorrt_options_cache_in_user_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUMP_CACHE", str(tmp_path / "cache"))
    trt, cuda, _ = resolve("tensorrt", ORT_GPU)
    assert trt[0] == "TensorrtExecutionProvider"
    assert trt[1]["trt_engine_cache_enable"] is True
    assert Path(trt[1]["trt_engine_cache_path"]) == tmp_path / "cache" / "tensorrt"
    assert cuda[1]["cudnn_conv_algo_search"] == "HEURISTIC"
    graph = sessions.resolve_providers("cuda", available=ORT_GPU, cuda_graph=True)
    assert graph[0][1]["enable_cuda_graph"] is True


def test_default_cache_dir_per_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUMP_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/x/cache")
    monkeypatch.setattr(sessions.sys, "platform", "linux")
    assert sessions.user_cache_dir() == Path("/x/cache/jump")
    monkeypatch.setattr(sessions.sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", "C:/Users/u/AppData/Local")
    assert sessions.user_cache_dir() == Path("C:/Users/u/AppData/Local/jump/cache")


class FakeSession:
    """Stands in for ort.InferenceSession: GPU providers fail to load, like a CUDA-less box."""

    attempts: ClassVar[list[list[str]]] = []

    def __init__(self, path: str, sess_options: object, providers: list, **kw: object) -> None:
        got = names(providers)
        FakeSession.attempts.append(got)
        if got[0] != "CPUExecutionProvider":
            raise RuntimeError(f"{got[0]}: libcudnn.so.9: cannot open shared object file")
        self.providers = got

    def get_providers(self) -> list[str]:
        return self.providers


def test_failed_gpu_provider_is_detected_and_reported(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ort = sessions.import_ort()
    monkeypatch.setattr(ort, "InferenceSession", FakeSession)
    monkeypatch.setattr(ort, "get_available_providers", lambda: ORT_GPU)
    monkeypatch.setattr(sessions, "tensorrt_installed", lambda: True)
    FakeSession.attempts = []
    with caplog.at_level(logging.INFO, logger="jump.sessions"):
        session = sessions.create_session("model.onnx", providers="auto")
    assert sessions.running_provider(session) == "cpu"
    # Each failing provider is dropped in turn; the CPU is the last resort.
    assert [a[0] for a in FakeSession.attempts] == [
        "TensorrtExecutionProvider",
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]
    [line] = [r for r in caplog.records if "runs on" in r.getMessage()]
    assert line.levelno == logging.WARNING
    assert "NOT on the requested tensorrt" in line.getMessage()
    assert "libcudnn" in line.getMessage()


class GraphlessCuda(FakeSession):
    """CUDA loads, but refuses graph capture (a shape op sits on the CPU)."""

    def __init__(self, path: str, sess_options: object, providers: list, **kw: object) -> None:
        FakeSession.attempts.append(names(providers))
        first = providers[0]
        if isinstance(first, tuple) and first[1].get("enable_cuda_graph"):
            raise RuntimeError("cannot use the graph capture feature: nodes not on CUDA")
        self.providers = names(providers)
        self.options = {names(providers)[0]: {k: str(v) for k, v in first[1].items()}}

    def get_provider_options(self) -> dict:
        return self.options


def test_cuda_graph_refused_keeps_cuda(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ort = sessions.import_ort()
    monkeypatch.setattr(ort, "InferenceSession", GraphlessCuda)
    FakeSession.attempts = []
    specs = sessions.resolve_providers("cuda", available=ORT_GPU, cuda_graph=True)
    with caplog.at_level(logging.INFO, logger="jump.sessions"):
        session = sessions.create_session("model.onnx", providers=specs)
    assert sessions.running_provider(session) == "cuda"
    assert not sessions.cuda_graph_enabled(session)
    assert len(FakeSession.attempts) == 2  # with the graph, then without it
    assert "graph capture" in caplog.text


@pytest.fixture(params=MATTE)
def matte_model(request: pytest.FixtureRequest) -> Path:
    from jump import catalogue

    entry = next(
        e for e in catalogue.load_manifest().values() if e.file == f"matte/{request.param}"
    )
    return catalogue.find_model(entry.id)


def photo_input(model_file: str, shape: tuple[int, ...]) -> np.ndarray:
    """A real photo of a person, normalised as the manifest says, in the model's layout."""
    import cv2

    from jump import catalogue

    photo = DATA / "matte" / "foregrounds" / "person-1.source.jpg"
    spec = next(e.spec for e in catalogue.load_manifest().values() if e.file.endswith(model_file))
    nchw = shape[1] == 3
    h, w = shape[2:] if nchw else shape[1:3]
    bgr = cv2.resize(cv2.imread(str(photo)), (w, h), interpolation=cv2.INTER_AREA)
    pixels = bgr if spec.get("colour") == "BGR" else bgr[..., ::-1]
    x = (pixels - np.float32(spec.get("mean", 0))) / np.float32(spec.get("std", 255))
    return (x.transpose(2, 0, 1) if nchw else x)[None].astype(np.float32)


def test_real_session_reports_cpu(matte_model: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="jump.sessions"):
        session = sessions.create_session(matte_model, threads=1, providers="auto")
    assert sessions.running_provider(session) in {"cpu", "cuda", "tensorrt", "dml", "coreml"}
    assert sum("runs on" in r.getMessage() for r in caplog.records) == 1


def test_fixed_shape_runner_matches_plain_run(matte_model: Path) -> None:
    session = sessions.create_session(matte_model, threads=1, providers="cpu")
    runner = FixedShapeRunner(session)
    photo = photo_input(matte_model.name, runner.input_buffer.shape)
    rng = np.random.default_rng(5)
    outputs = []
    for gain in (1.0, 0.5):  # new contents in the same bound buffer each frame
        runner.input_buffer[...] = photo * gain + rng.normal(0, 1e-3, photo.shape)
        got = runner.run().copy()
        want = session.run(None, {runner.input_name: runner.input_buffer})[0]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        outputs.append(got)
    assert np.isfinite(outputs[0]).all() and outputs[0].std() > 0.01
    assert not np.array_equal(outputs[0], outputs[1])  # the runner saw the new input


def test_bench_downscale_is_an_area_average() -> None:
    import cv2

    from jump.lab.model_bench import downscale, test_frame

    frame = test_frame((1920, 1080))
    fast = downscale(frame, 256, 144).astype(np.float32)
    area = cv2.resize(frame, (256, 144), interpolation=cv2.INTER_AREA).astype(np.float32)
    assert fast.shape == area.shape
    # measured: mean 0.9 grey levels apart on a composite; a plain bilinear shrink
    # (aliasing) is several times further off
    assert np.abs(fast - area).mean() < 1.5
    linear = cv2.resize(frame, (256, 144), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    assert np.abs(linear - area).mean() > 2 * np.abs(fast - area).mean()


def test_bench_runs_on_cpu_and_reports_the_real_provider(matte_model: Path) -> None:
    from jump import catalogue
    from jump.lab.model_bench import bench_model

    entry = next(e for e in catalogue.load_manifest().values() if e.file.endswith(matte_model.name))
    [row] = bench_model(entry.id, matte_model, "cpu", ["720p"], frames=3, threads=1)
    assert row.provider == "cpu" and row.size == "720p" and row.frames == 3
    assert row.masks_per_s > 0 and row.model_ms > 0 and row.latency_p95_ms >= row.latency_ms
