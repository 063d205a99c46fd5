"""scripts/setup (Linux, macOS) and scripts/setup.ps1 (Windows) do the same steps, and
scripts/setup picks the Python OBS loads on macOS, not Apple's /usr/bin/python3 (3.9).

PowerShell is not installable here, so the .ps1 is checked by reading it: the same named
steps in the same order, each doing its part, and nothing Windows PowerShell 5.1 cannot
parse (``&&``, ``||``) or a Windows console cannot show (non-ASCII)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BASH = REPO / "scripts" / "setup"
PS1 = REPO / "scripts" / "setup.ps1"
VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"


def steps(path: Path) -> dict[str, str]:
    """step name -> the script's text of that step, in order."""
    text = path.read_text(encoding="utf-8")
    parts = re.split(r"^# step: ([\w-]+)\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_both_scripts_name_the_same_steps_in_order() -> None:
    bash, ps1 = steps(BASH), steps(PS1)
    assert list(bash) == list(ps1) == ["find-python", "make-venv", "install", "doctor", "tell-obs"]
    # each step does its part in both
    for script in (bash, ps1):
        assert "3, 10" in script["find-python"] and "3, 12" in script["find-python"]
        assert "-m venv .venv" in script["make-venv"]
        assert "-m pip install" in script["install"] and ".installed-" in script["install"]
        assert "-m jump doctor" in script["doctor"]
        assert "jump_obs.py" in script["tell-obs"]
    assert "Path64bit" in bash["find-python"] and "Path64bit" in ps1["find-python"]
    assert "WindowsApps" in ps1["find-python"]  # the Store alias is refused
    assert r".venv\Scripts\python.exe" in ps1["install"]


def test_powershell_script_parses_on_windows_powershell_5() -> None:
    raw = PS1.read_bytes()
    assert raw.isascii()
    code = "\n".join(line.split("#")[0] for line in raw.decode().splitlines())
    assert "&&" not in code and "||" not in code
    assert not re.search(r"\brm -rf\b|/bin/|\bpython3\b", code)
    assert code.count("{") == code.count("}") and code.count("(") == code.count(")")


def test_bash_script_has_no_gnu_only_checksum() -> None:
    install = steps(BASH)["install"]
    assert "shasum -a 256" in install and "command -v sha256sum" in install


def _fake_mac(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A PATH whose `uname` says Darwin, a HOME whose OBS is set to a python.org-style
    framework folder (its python a link to this machine's), and a `python3` of 3.9."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "uname").write_text("#!/bin/sh\necho Darwin\n")
    # Apple's /usr/bin/python3 stand-in: a 3.9 that must never be chosen
    (bin_dir / "python3").write_text("#!/bin/sh\nexit 1\n")
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    frameworks = tmp_path / "Frameworks"
    exe = frameworks / "Python.framework" / "Versions" / VERSION / "bin" / f"python{VERSION}"
    exe.parent.mkdir(parents=True)
    exe.symlink_to(Path(sys.base_prefix) / "bin" / f"python{VERSION}")
    home = tmp_path / "home"
    ini = home / "Library" / "Application Support" / "obs-studio" / "user.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text(f"[General]\nX=1\n\n[Python]\nPath64bit={frameworks}\n")
    env = {**os.environ, "HOME": str(home), "PATH": f"{bin_dir}:/usr/bin:/bin"}
    env.pop("JUMP_PYTHON", None)
    return env, exe


@pytest.mark.skipif(sys.platform != "linux", reason="simulates macOS on Linux")
def test_setup_on_macos_takes_the_framework_python_obs_is_set_to(tmp_path: Path) -> None:
    env, exe = _fake_mac(tmp_path)
    if not (3, 10) <= sys.version_info[:2] <= (3, 12):
        pytest.skip("this machine's Python is outside OBS's 3.10-3.12")
    out = subprocess.run(
        ["bash", str(BASH), "--print-python"], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(exe)


@pytest.mark.skipif(sys.platform != "linux", reason="simulates macOS on Linux")
def test_setup_on_macos_without_a_usable_python_says_what_to_install(tmp_path: Path) -> None:
    env, exe = _fake_mac(tmp_path)
    exe.unlink()
    env["PATH"] = str(tmp_path / "bin")  # no python3.1X on PATH either: only these tools
    for name in ("sed", "head", "dirname", "cut", "basename"):
        (tmp_path / "bin" / name).symlink_to(f"/usr/bin/{name}")
    out = subprocess.run(
        ["/bin/bash", str(BASH), "--print-python"], capture_output=True, text=True, env=env,
        timeout=60,
    )  # fmt: skip
    assert out.returncode == 1 and out.stdout == ""
    assert "python.org" in out.stderr and "/Library/Frameworks" in out.stderr
