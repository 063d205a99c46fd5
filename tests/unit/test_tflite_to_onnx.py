"""The shipped selfie-landscape ONNX: its checksum, its quality, and that it is rebuilt
byte for byte from MediaPipe's .tflite (models/README.md has the provenance).

The rebuild reads ``tests/data/models/selfie_segmentation_landscape.tflite`` (250 KB,
Apache-2.0, taken unchanged from the ``mediapipe`` 0.10.21 wheel). Nothing here needs
MediaPipe itself or the network; the comparison with MediaPipe's own output is a one-off
recorded in models/README.md.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from jump import catalogue
from jump.lab.matte import metrics
from jump.matte import MatteEngine, MatteSettings
from tests.conftest import DATA
from tests.helpers import matte_data as md

MODEL_ID = "selfie-landscape"
TFLITE = DATA / "models" / "selfie_segmentation_landscape.tflite"


def test_shipped_file_matches_its_manifest_entry() -> None:
    entry = catalogue.get_entry(MODEL_ID)
    path = md.MODELS / entry.file
    assert entry.spec.get("shipped") and entry.licence == "Apache-2.0"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry.sha256
    assert (path.parent / "SELFIE-LANDSCAPE-LICENSE-Apache-2.0.txt").is_file()


def test_quality_floors_on_the_handful() -> None:
    # measured (2026-12-02): raw IoU 0.830 / MAD 0.039, refined 0.838 / 0.037; the worst
    # composite is p3m-bc5cfad1/animal-1 (refined 0.687: the tiger behind counts as person)
    m = MatteEngine(MatteSettings(model=MODEL_ID), md.MODELS)
    raw, ref = [], []
    for _, frame, truth in md.handful():
        m.reset()
        r = m.process_detailed(frame, "bgr")
        raw.append([metrics.iou(r.raw, truth), metrics.mad(r.raw, truth)])
        ref.append([metrics.iou(r.alpha, truth), metrics.mad(r.alpha, truth)])
    raw_mean, ref_mean = np.mean(raw, axis=0), np.mean(ref, axis=0)
    assert raw_mean[0] >= 0.80 and ref_mean[0] >= 0.80
    assert raw_mean[1] <= 0.050 and ref_mean[1] <= 0.047
    assert min(r[0] for r in ref) >= 0.65


def test_reconverting_the_tflite_gives_the_shipped_bytes(tmp_path: Path) -> None:
    from jump.lab import tflite_to_onnx

    assert hashlib.sha256(TFLITE.read_bytes()).hexdigest().startswith("a77d03f4659b9f6b")
    out = tmp_path / "selfie_segmentation_landscape.onnx"
    assert tflite_to_onnx.main([str(TFLITE), str(out)]) == 0
    entry = catalogue.get_entry(MODEL_ID)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == entry.sha256
