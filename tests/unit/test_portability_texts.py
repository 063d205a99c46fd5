"""What Windows and macOS users are told to type (OBS's script description, `jump doctor`),
rendered on Linux for each system; and the doctor on a macOS Python.framework tree, on a
Windows python3X.dll folder, without numpy, and on a cp1252 console."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path, PureWindowsPath

import pytest

import jump_obs
from jump import setup_steps
from jump.commands import doctor
from jump.setup_steps import Steps

REPO = Path(__file__).resolve().parents[2]
VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
WIN_HOME = PureWindowsPath(r"C:\Users\José Müller\Documents\Jump")
MAC_HOME = Path("/Users/josé/Jump")
MISSING = ["numpy (ModuleNotFoundError: No module named 'numpy')"]


def assert_safe_for(text: str, platform: str) -> None:
    """No Linux-only or broken command for ``platform``; every line encodable in cp1252."""
    for line in text.splitlines():
        line.encode("cp1252")  # raises on a character a Windows console cannot write
    assert "&&" not in text and "&amp;&amp;" not in text
    assert "rm -rf" not in text and "→" not in text
    # a bare python3 (the Microsoft Store alias on Windows, Apple's 3.9 on macOS)
    assert not re.search(r"(^|[\s>(])python3?(\s|$)", text, re.M), text
    assert "sys.executable" not in text and "obs64" not in text
    if platform == "win32":
        assert "/bin/" not in text and ".venv/" not in text
        assert "file://C:" not in text and "file:///" not in text.replace("file:///C:/", "")


def links(text: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', text)


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_script_description_texts(platform: str, monkeypatch: pytest.MonkeyPatch) -> None:
    steps = Steps(platform)
    here = WIN_HOME if platform == "win32" else MAC_HOME
    exe = (
        PureWindowsPath(r"C:\Program Files\Python312\python.exe")
        if platform == "win32"
        else Path("/Library/Frameworks/Python.framework/Versions/3.12/bin/python3.12")
    )
    # what jump_obs shows, through the same function, with OBS's Python known and unknown
    monkeypatch.setattr(jump_obs, "STEPS", steps)
    monkeypatch.setattr(jump_obs, "HERE", here)
    monkeypatch.setattr(jump_obs, "PY_VERSION", "3.12")
    monkeypatch.setattr(jump_obs, "_venv_python_mismatch", lambda: "3.9")
    for python in (str(exe), ""):
        monkeypatch.setattr(jump_obs, "obs_python", lambda python=python: python)
        for text in (jump_obs.status_text(MISSING), jump_obs.status_text([])):
            assert_safe_for(text, platform)
            assert links(text) == [(steps.path(here) / "docs" / "troubleshooting.md").as_uri()]
        missing = html.unescape(jump_obs.status_text(MISSING))
        if platform == "win32":
            assert r".venv\Scripts\python.exe -m jump doctor" in missing
            assert "file:///C:/Users/Jos%C3%A9%20M%C3%BCller/Documents/Jump/docs/" in missing
            want = (
                '& "C:\\Program Files\\Python312\\python.exe" -m venv'
                if python
                else "py -3.12 -m venv"
            )
            assert want in missing
            assert r"scripts\setup.ps1" in missing
        else:
            assert (
                "/Library/Frameworks/Python.framework/Versions/3.12/bin/python3.12 -m venv"
                in missing
            )
            assert "bash scripts/setup" in missing
        assert "made with Python 3.9" in missing
    log = setup_steps.missing_log(["numpy"], here, "3.12", steps)
    assert_safe_for(log, platform)


def _fixture_setting(tmp_path: Path, platform: str) -> tuple[doctor.ObsInstall, Path]:
    """An OBS install whose Python Settings point at a Python laid out as on ``platform``;
    its interpreter is this machine's (a link), so the doctor really runs it."""
    real = Path(sys.base_prefix) / "bin" / f"python{VERSION}"
    assert real.is_file(), real
    if platform == "darwin":
        setting = tmp_path / "Library" / "Frameworks"
        framework = setting / "Python.framework" / "Versions" / VERSION
        (framework / "lib").mkdir(parents=True)
        (framework / "lib" / f"libpython{VERSION}.dylib").write_bytes(b"")
        (framework / "bin").mkdir()
        exe = framework / "bin" / f"python{VERSION}"
        config = tmp_path / "Library" / "Application Support" / "obs-studio"
    else:
        setting = tmp_path / "Python3X"
        setting.mkdir()
        (setting / f"python3{sys.version_info.minor}.dll").write_bytes(b"")
        exe = setting / "python.exe"
        config = tmp_path / "AppData" / "Roaming" / "obs-studio"
    exe.symlink_to(real)
    config.mkdir(parents=True)
    (config / "user.ini").write_text(f"[Python]\nPath64bit={setting}\n", encoding="utf-8")
    return doctor.ObsInstall(f"fixture OBS ({platform})", [config], []), exe


def test_doctor_passes_a_correct_macos_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OBS set to /Library/Frameworks (the folder *holding* Python.framework), the venv made
    by that Python: every check passes."""
    install, exe = _fixture_setting(tmp_path, "darwin")
    monkeypatch.setattr(doctor, "find_obs", lambda: install)
    checks = doctor.diagnose(REPO / ".venv", platform="darwin")
    assert all(c.state == "OK" for c in checks), "\n".join(c.line() for c in checks)
    python = next(c for c in checks if c.name == "OBS's Python")
    assert str(exe) in python.detail and f"Python {VERSION}" in python.detail
    assert any(c.name == "import onnxruntime in OBS's Python" for c in checks)


def test_doctor_finds_the_python_a_windows_obs_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install, exe = _fixture_setting(tmp_path, "win32")
    check, python = doctor.obs_python(install, None, "win32")
    assert check.state == "OK" and python == str(exe)


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_doctor_fixes_are_native_commands(
    platform: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A venv from another Python, a missing venv, a macOS setting one level too deep and no
    setting at all: each fix is a command for that system, one per line."""
    install, _ = _fixture_setting(tmp_path, platform)
    monkeypatch.setattr(doctor, "find_obs", lambda: install)
    other = tmp_path / "venv"
    (other / "lib" / "python3.99" / "site-packages").mkdir(parents=True)
    (other / "pyvenv.cfg").write_text("home = /opt/other\nversion = 3.99.1\n")
    checks = doctor.diagnose(other, platform=platform)
    venv = next(c for c in checks if c.name == ".venv")
    assert venv.state == "FAIL" and "--clear" in venv.fix
    assert str(Steps(platform).path(doctor.REPO / "requirements.txt")) in venv.fix
    missing = next(
        c for c in doctor.diagnose(tmp_path / "none", platform=platform) if c.name == ".venv"
    )
    assert missing.state == "FAIL"
    texts = [c.line() for c in checks] + [missing.line()]
    if platform == "darwin":
        deep = tmp_path / "Library" / "Frameworks" / "Python.framework" / "Versions" / VERSION
        (install.config_dirs[0] / "user.ini").write_text(f"[Python]\nPath64bit={deep}\n")
        wrong, _ = doctor.obs_python(install, None, platform)
        assert wrong.state == "FAIL" and "/Library/Frameworks" in wrong.fix
        texts.append(wrong.line())
    (install.config_dirs[0] / "user.ini").write_text("[Other]\n")
    unset, _ = doctor.obs_python(install, None, platform)
    assert unset.state == "FAIL" and "python.org" in unset.fix
    texts.append(unset.line())
    for text in texts:
        assert_safe_for(text.replace(str(tmp_path), "TMP"), platform)
    if platform == "win32":
        assert r"venv\Scripts\python.exe -m pip install -r" in venv.fix
        assert r"scripts\setup.ps1" in missing.fix and "Microsoft Store" in unset.fix


def test_doctor_runs_without_numpy_on_a_cp1252_console(tmp_path: Path) -> None:
    """`python -m jump doctor` with numpy unimportable and stdout a cp1252 pipe, the venv
    path holding a character cp1252 lacks: the report, exit 1, no traceback."""
    venv = tmp_path / "Łukasz" / "venv"
    code = (
        "import sys, runpy; sys.modules['numpy'] = None; sys.modules['cv2'] = None; "
        f"sys.argv = ['jump', 'doctor', '--venv', {str(venv)!r}]; "
        "runpy.run_module('jump', run_name='__main__', alter_sys=True)"
    )
    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, cwd=REPO, env=env, timeout=120
    )
    stdout = out.stdout.decode("cp1252")
    assert out.returncode == 1, stdout + out.stderr.decode()
    assert "Traceback" not in out.stderr.decode(), out.stderr.decode()
    assert "FAIL .venv: " in stdout and "?ukasz" in stdout
    assert re.search(r"\d+ checks, \d+ failed", stdout)
