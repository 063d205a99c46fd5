"""`python -m jump doctor` on this machine: a good set-up, a venv from another Python,
a venv missing onnxruntime, a damaged model."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from jump.commands import doctor
from tests.helpers.obs_harness import OBS_BIN

REPO = Path(__file__).resolve().parents[2]


def states(checks: list[doctor.Check]) -> dict[str, str]:
    return {c.name: c.state for c in checks}


@pytest.fixture(scope="module")
def obs_python() -> str:
    """OBS's interpreter as the doctor finds it (the tests' venv is made from it)."""
    if OBS_BIN is None:
        pytest.skip("obs-studio is not installed")
    install = doctor.find_obs()
    assert install is not None and "OBS Studio" in install.where
    check, python = doctor.obs_python(install, None)
    assert check.state == "OK", check.line()
    return python


def test_good_setup_passes_every_check(obs_python: str) -> None:
    checks = doctor.diagnose(REPO / ".venv")
    got = states(checks)
    assert all(c.state == "OK" for c in checks), "\n".join(c.line() for c in checks)
    for module in ("numpy", "onnxruntime", "cv2"):
        assert got[f"import {module} in OBS's Python"] == "OK"
    assert got["provider CPUExecutionProvider"] == "OK"
    for model_id in ("mediapipe", "silero-vad", "nsnet2-48k-int8"):
        assert got[f"model {model_id}"] == "OK"


def test_a_venv_from_another_python_fails_with_the_fix(obs_python: str, tmp_path: Path) -> None:
    # What `python3.X -m venv` writes, for a Python other than OBS's.
    venv = tmp_path / "venv"
    (venv / "lib" / "python3.99" / "site-packages").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /opt/other/bin\nversion = 3.99.1\n")
    checks = doctor.diagnose(venv)
    venv_check = next(c for c in checks if c.name == ".venv")
    assert venv_check.state == "FAIL" and "made with Python 3.99" in venv_check.detail
    assert f"{obs_python} -m venv" in venv_check.fix
    assert states(checks)["import onnxruntime in OBS's Python"] == "FAIL"


def test_a_venv_missing_onnxruntime_names_it(obs_python: str, tmp_path: Path) -> None:
    """The real venv's packages minus onnxruntime, seen from OBS's Python."""
    version = doctor.venv_version(REPO / ".venv")
    site = doctor.site_packages(REPO / ".venv", version)
    venv = tmp_path / "venv"
    target = venv / "lib" / f"python{version}" / "site-packages"
    target.mkdir(parents=True)
    for name in ("numpy", "numpy.libs", "cv2", "opencv_python_headless.libs"):
        if (site / name).exists():
            (target / name).symlink_to(site / name)
    (venv / "pyvenv.cfg").write_text(
        f"home = {Path(sys.executable).parent}\nversion = {version}.0\n"
    )
    got = states(doctor.diagnose(venv))
    assert got[".venv"] == "OK"
    assert got["import numpy in OBS's Python"] == "OK"
    assert got["import onnxruntime in OBS's Python"] == "FAIL"


def test_a_damaged_shipped_model_fails(tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(REPO / "models", models, ignore=shutil.ignore_patterns("*.onnx"))
    for name in ("matte/mediapipe.onnx", "vad/silero_vad.onnx"):
        shutil.copy(REPO / "models" / name, models / name)
    (models / "vad" / "silero_vad.onnx").write_bytes(b"damaged")
    got = {c.name: c for c in doctor.model_checks(models)}
    assert got["model mediapipe"].state == "OK"
    assert got["model silero-vad"].state == "FAIL" and "checksum" in got["model silero-vad"].detail
    assert (
        got["model nsnet2-48k-int8"].state == "FAIL"
        and "missing" in got["model nsnet2-48k-int8"].detail
    )
    assert "git checkout" in got["model silero-vad"].fix
