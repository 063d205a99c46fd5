"""requirements.txt resolves to binary wheels for Windows x64 and Apple Silicon macOS, on
every Python OBS can load there (3.10-3.12), as pip would resolve it on those machines.

pip evaluates environment markers against the machine it runs on, so the markers are
evaluated here for the target (``sys_platform``, ``platform_machine``, ``python_version``)
and pip resolves the result with ``--only-binary=:all: --platform ... --python-version``:
a requirement with no wheel for the target (a source-only release, a missing cp3X build)
fails the resolution. Needs the package index (marked ``network``; skipped without it).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

try:
    from packaging.requirements import Requirement
except ImportError:  # pip always carries it
    from pip._vendor.packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
TARGETS = {
    # pip platform tag: marker environment of such a machine
    "win_amd64": {"sys_platform": "win32", "platform_system": "Windows",
                  "platform_machine": "AMD64", "os_name": "nt"},
    "macosx_14_0_arm64": {"sys_platform": "darwin", "platform_system": "Darwin",
                          "platform_machine": "arm64", "os_name": "posix"},
}  # fmt: skip
PYTHONS = ("3.10", "3.11", "3.12")

pytestmark = pytest.mark.network


def _index_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return True
    except OSError:
        return False


def requirements_for(platform: str, python: str) -> list[str]:
    env = {**TARGETS[platform], "python_version": python, "python_full_version": f"{python}.0",
           "implementation_name": "cpython", "platform_python_implementation": "CPython"}  # fmt: skip
    wanted = []
    for line in (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate(env):
            req.marker = None
            wanted.append(str(req))
    return wanted


def resolve(platform: str, python: str, tmp: Path) -> dict:
    report = tmp / f"{platform}-{python}.json"
    cmd = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
        "--only-binary=:all:", "--platform", platform, "--python-version", python,
        "--implementation", "cp", "--target", str(tmp / "target"), "--report", str(report),
        *requirements_for(platform, python),
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    return {"rc": out.returncode, "err": out.stderr[-2000:],
            "report": json.loads(report.read_text()) if out.returncode == 0 else {}}  # fmt: skip


def test_markers_pick_directml_on_windows_only() -> None:
    win = requirements_for("win_amd64", "3.12")
    mac = requirements_for("macosx_14_0_arm64", "3.12")
    assert any(r.startswith("onnxruntime-directml>=1.21") for r in win)
    assert not any(r.startswith("onnxruntime>") for r in win)
    assert any(r.startswith("onnxruntime>") for r in mac)
    assert not any("directml" in r for r in mac)


def test_requirements_resolve_to_wheels_for_windows_and_macos(tmp_path: Path) -> None:
    if not _index_reachable():
        pytest.skip("package index not reachable")
    jobs = [(p, v) for p in TARGETS for v in PYTHONS]
    with ThreadPoolExecutor(len(jobs)) as pool:
        results = dict(zip(jobs, pool.map(lambda j: resolve(*j, tmp_path), jobs), strict=True))
    failed = {f"{p} cp{v}": r["err"] for (p, v), r in results.items() if r["rc"] != 0}
    assert not failed, failed
    for (platform, python), result in results.items():
        wheels = {
            item["metadata"]["name"].lower(): item["download_info"]["url"].rsplit("/", 1)[1]
            for item in result["report"]["install"]
        }
        runtime = "onnxruntime-directml" if platform == "win_amd64" else "onnxruntime"
        for name in ("numpy", "scipy", "opencv-python-headless", "soundfile", runtime):
            assert name in wheels, (platform, python, sorted(wheels))
        arch = "win_amd64" if platform == "win_amd64" else ("arm64", "universal2")
        for wheel in wheels.values():
            assert wheel.endswith(".whl"), wheel
            tag = wheel[:-4].rsplit("-", 1)[1]
            assert tag == "any" or any(a in tag for a in ([arch] if isinstance(arch, str) else arch)), (
                platform, python, wheel)  # fmt: skip
        cp = f"cp{python.replace('.', '')}"
        assert cp in wheels["numpy"] and cp in wheels[runtime], (platform, python, wheels)
