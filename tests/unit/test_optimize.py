"""FP16 / INT8 variants: they build, load, and agree with FP32 on real composites.

Floors come from measurements on the held-out composites (docs/benchmarks.md): FP16 masks
agree with FP32 at IoU 0.998–0.999 (CPU and CUDA); static INT8 is far looser (0.86 for
mediapipe), so its floor only catches a broken quantisation, not a good one.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from jump import catalogue
from jump.lab import optimize
from tests.conftest import HAVE_SHARED, SHARED

# mediapipe ships in models/; SINet and selfie are fetched (CI has them in ../shared)
MODELS = SHARED / "models" if HAVE_SHARED else catalogue.PROJECT_MODELS


def run(path: Path, x: np.ndarray) -> np.ndarray:
    from jump import sessions

    session = sessions.create_session(path, 1, "cpu")
    return session.run(None, {session.get_inputs()[0].name: x})[0]


@pytest.mark.shared
def test_clean_model_moves_initializers_out_of_inputs_and_keeps_the_function(
    tmp_path: Path,
) -> None:
    import onnx

    src = MODELS / "matte" / "SINet_Softmax_simple.onnx"
    raw = onnx.load(str(src))
    assert len(raw.graph.input) > 1  # old exporter: every weight listed as an input
    clean = optimize.clean_model(raw)
    assert [i.name for i in clean.graph.input] == ["data"]
    onnx.save(clean, str(tmp_path / "clean.onnx"))
    x = next(optimize.model_inputs("sinet", calibration_frames(1)))
    np.testing.assert_allclose(run(tmp_path / "clean.onnx", x), run(src, x), atol=1e-5)


def calibration_frames(n: int) -> list[np.ndarray]:
    return optimize.calibration_frames(n, size=(640, 360))


def test_fp16_agrees_with_fp32_on_held_out_composites(tmp_path: Path) -> None:
    import onnx

    dst = optimize.to_fp16(MODELS / "matte" / "mediapipe.onnx", tmp_path / "m16.onnx")
    model = onnx.load(str(dst))
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in model.graph.initializer)
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    result = optimize.compare("mediapipe", dst, "cpu", limit=6, size=(640, 360))
    assert result.frames == 6
    assert result.iou_vs_fp32 >= 0.99
    assert result.mad_vs_fp32 <= 0.005
    assert abs(result.iou_variant - result.iou_fp32) <= 0.01


def test_int8_is_quantised_runs_and_stays_near_fp32(tmp_path: Path) -> None:
    import onnx

    inputs = list(optimize.model_inputs("mediapipe", calibration_frames(8)))
    dst = optimize.to_int8(MODELS / "matte" / "mediapipe.onnx", tmp_path / "m8.onnx", inputs)
    ops = {n.op_type for n in onnx.load(str(dst)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    result = optimize.compare("mediapipe", dst, "cpu", limit=6, size=(640, 360))
    assert 0.7 <= result.iou_vs_fp32 < 1.0  # quantised, not broken, not a copy
    assert result.mad_vs_fp32 <= 0.08


def test_variant_entries_carry_the_engine_fields(tmp_path: Path) -> None:
    from jump.matte.model import ModelSpec

    base = catalogue.get_entry("mediapipe")
    raw = optimize.variant_entry(base, "int8")
    assert raw["id"] == "mediapipe-int8" and raw["file"] == "matte/mediapipe-int8.onnx"
    assert raw["variant_of"] == "mediapipe" and raw["url"] == ""
    folder = tmp_path / "manifest"
    folder.mkdir()
    base_raw = {
        "id": base.id,
        "kind": base.kind,
        "file": base.file,
        "sha256": base.sha256,
        "licence": base.licence,
        "url": base.url,
        **base.spec,
    }
    (folder / "matte.json").write_text(json.dumps([base_raw]))
    (folder / "variants.json").write_text(json.dumps([raw]))
    entry = catalogue.load_manifest(folder)["mediapipe-int8"]  # inherits the base's fields
    assert optimize.is_variant(entry) and not optimize.is_variant(base)
    assert entry.kind == "matte" and entry.licence == base.licence
    assert ModelSpec.from_entry(entry).input_size == ModelSpec.from_entry(base).input_size

    target = tmp_path / "variants.json"
    optimize.record_variants([raw], target)
    optimize.record_variants([optimize.variant_entry(base, "fp16"), raw], target)
    ids = [e["id"] for e in json.loads(target.read_text())]
    assert ids == ["mediapipe-fp16", "mediapipe-int8"]  # refreshed, not duplicated


def test_shipped_variants_manifest_matches_its_bases() -> None:
    manifest = catalogue.load_manifest()
    variants = [e for e in manifest.values() if optimize.is_variant(e)]
    assert {e.id for e in variants} >= {"mediapipe-fp16", "mediapipe-int8"}
    for e in variants:
        base = manifest[e.spec["variant_of"]]
        assert e.kind == base.kind and e.spec["precision"] in optimize.PRECISIONS
        assert e.file == optimize.variant_file(base, e.spec["precision"])
        own = {k: v for k, v in e.spec.items() if k not in ("variant_of", "precision")}
        assert own == base.spec, (
            f"{e.id} is stale: run `python -m jump models optimize --refresh` "
            "to re-derive models/variants.json from the edited base entry"
        )


@pytest.mark.shared
def test_cli_optimize_builds_and_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from jump.cli import main

    record = tmp_path / "variants.json"
    monkeypatch.setattr(optimize, "VARIANTS_FILE", record)
    assert main(["models", "optimize", "selfie", "--fp16", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "matte" / "selfie-fp16.onnx").is_file()
    assert [e["id"] for e in json.loads(record.read_text())] == ["selfie-fp16"]
    assert main(["models", "optimize", "selfie"]) == 2  # nothing asked for
    assert "--fp16" in capsys.readouterr().out
