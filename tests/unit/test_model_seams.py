"""A new matte model type and a new denoise stage are one file each: written to a folder
here, found by the engines' discovery (pkgutil), chosen by a manifest entry's "type"."""

from __future__ import annotations

import textwrap
from dataclasses import replace

import numpy as np
import pytest

from jump import catalogue
from jump.denoise import Denoiser, DenoiseSettings, stages
from jump.lab.denoise.mixtures import RATE
from jump.matte import MatteEngine, MatteSettings
from jump.matte import models as matte_models
from tests.helpers.denoise_data import push_in_chunks, speech

TOY_MATTE = '''
import numpy as np

from jump import catalogue
from jump.matte.model import MatteModel, ModelSpec
from jump.matte.models import model_type


@model_type("toy-left-half")
class LeftHalf(MatteModel):
    """Says the left half of every picture is the person."""

    def __init__(self, model_id, models_dir=None, threads=2, provider="auto"):
        self.spec = ModelSpec.from_entry(catalogue.get_entry(model_id))
        self.resets = 0

    def content_rect(self, frame_w, frame_h):
        return (0, 0, *self.input_size)

    def tensor(self, pixels):
        return pixels

    def run(self, tensor):
        return tensor.shape[:2]

    def probability(self, raw):
        h, w = raw
        prob = np.zeros((h, w), np.float32)
        prob[:, : w // 2] = 1.0
        return prob

    def reset(self):
        self.resets += 1
'''

TOY_STAGE = '''
from jump.denoise.stages import Stage, StageOutput, register
from jump.denoise.stft import default_framing


@register("toy-half-spectrum")
class HalfSpectrum(Stage):
    """Gives back half of its input spectrum: what comes out is known exactly."""

    needs_spectrum = True
    name = "toy-half"

    def __init__(self, ctx):
        self.rows = ctx.rows
        self.configured = None

    @classmethod
    def framing(cls, entry, sample_rate, window):
        return default_framing(window)

    @classmethod
    def create(cls, ctx, entry, path):
        return cls(ctx)

    def resize(self, rows):
        self.rows = rows

    def reset(self):
        pass

    def configure(self, strength_db):
        self.configured = strength_db

    def __call__(self, block):
        return StageOutput(spectrum=0.5 * block.spectrum)
'''


def _add_entry(monkeypatch: pytest.MonkeyPatch, **raw: object) -> None:
    entry = catalogue.ModelEntry.from_json({"sha256": "-", "licence": "-", "url": "", **raw})
    real = catalogue.load_manifest()
    monkeypatch.setattr(catalogue, "load_manifest", lambda *a: {**real, entry.id: entry})


def _one_file_package(tmp_path, monkeypatch, package, name: str, source: str) -> None:
    """``source`` as one module of ``package``, as if dropped into its folder."""
    folder = tmp_path / package.__name__.replace(".", "_")
    folder.mkdir()
    (folder / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.setattr(package, "__path__", [*package.__path__, str(folder)])


def test_a_new_matte_model_type_is_one_file(tmp_path, monkeypatch) -> None:
    _one_file_package(tmp_path, monkeypatch, matte_models, "toy_left_half", TOY_MATTE)
    _add_entry(
        monkeypatch,
        id="toy-matte",
        kind="matte",
        file="toy/none.onnx",
        type="toy-left-half",
        input_size=[64, 36],
    )
    assert "toy-left-half" in matte_models.names()
    engine = MatteEngine(MatteSettings(model="toy-matte", temporal=0.0, refine=False))
    assert type(engine.model).__name__ == "LeftHalf"
    alpha = engine.process(np.full((72, 128, 4), 128, np.uint8))
    assert alpha.shape == (72, 128)
    assert alpha[:, :56].min() == 255 and alpha[:, 72:].max() == 0
    engine.reset()
    assert engine.model.resets == 1


def test_a_new_denoise_stage_is_one_file(tmp_path, monkeypatch) -> None:
    _one_file_package(tmp_path, monkeypatch, stages, "toy_half_spectrum", TOY_STAGE)
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "none.bin").write_bytes(b"")
    _add_entry(
        monkeypatch, id="toy-denoise", kind="denoise", file="toy/none.bin", type="toy-half-spectrum"
    )
    assert "toy-denoise" in stages.model_ids()
    s = replace(
        DenoiseSettings(),
        neural_model="toy-denoise",
        vad_model="",
        strength_db=40.0,
        speech_db=40.0,
    )
    d = Denoiser(RATE, 1, s, str(tmp_path))
    assert d.neural_active and "toy-half" in d.status
    assert d._model.configured == 40.0  # the optional hook declared on Stage was called
    x = speech()[None, : RATE * 2]
    y = push_in_chunks(d, x, seed=3)
    lat = d.latency_samples
    assert np.abs(y[:, lat:] - 0.5 * x[:, :-lat]).max() < 1e-5


def test_the_manifest_field_type_and_its_old_name_engine() -> None:
    raw = {"id": "x", "kind": "matte", "file": "x.onnx", "sha256": "-", "licence": "-", "url": ""}
    assert catalogue.ModelEntry.from_json({**raw, "type": "rvm"}).type == "rvm"
    assert catalogue.ModelEntry.from_json({**raw, "engine": "rvm"}).type == "rvm"  # old name
    assert catalogue.ModelEntry.from_json(raw).type is None
    manifest = catalogue.load_manifest()
    assert manifest["rvm"].type == "rvm" and "engine" not in manifest["rvm"].spec
    assert {e.type for e in manifest.values() if e.kind == "denoise"} >= {"spectral-mask"}
