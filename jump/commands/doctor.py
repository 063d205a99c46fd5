"""`python -m jump doctor`: is Jump set up so that OBS can load it? One line per check.

OBS runs Jump inside its own embedded Python, never inside the `.venv`: `jump_obs.py`
adds the venv's site-packages to OBS's interpreter. So the checks that matter are run
*with OBS's Python* (found from OBS's install and settings), not with whatever Python
runs this command. This module uses only the standard library, so it works in a venv
that is missing numpy or was made by the wrong Python — exactly when it is needed.

Each line is ``OK``, ``WARN`` or ``FAIL``, what was checked, and for a problem the fix,
one command per line in the streamer's own shell (`jump.setup_steps`). The exit status is
1 when any check fails. `python -m jump doctor` reaches `main` before anything imports
numpy (`jump/__main__.py`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jump.commands.obs_install import (
    ObsInstall,
    find_obs,
    linked_python,
    python_in_setting,
    python_setting,
)
from jump.setup_steps import ARROW, MACOS, MAX_MINOR, MIN_MINOR, WINDOWS, Steps, system

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv"
MODULES = (("numpy", "numpy"), ("scipy", "scipy"), ("cv2", "opencv-python-headless"),
           ("onnxruntime", "onnxruntime"), ("soundfile", "soundfile"))  # fmt: skip
PYTHON_SETTINGS = f"OBS {ARROW} Tools {ARROW} Scripts {ARROW} Python Settings"
# what dlopen/LoadLibrary say when a binary package is for another CPU type
ARCH_MISMATCH = re.compile(r"incompatible architecture|wrong ELF class|not a valid Win32", re.I)


@dataclass
class Check:
    state: str  # "OK", "WARN", "FAIL"
    name: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.state:<4} {self.name}: {self.detail}"
        for i, step in enumerate(self.fix.splitlines()):  # one command per line, no `&&`
            text += "\n       " + ("fix: " if i == 0 else "     ") + step
        return text


HELP = "check OBS, OBS's Python, the .venv, packages, models"


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--venv", default=str(VENV), help="the venv jump_obs.py uses (default .venv)")
    p.add_argument("--obs-python", help="OBS's Python interpreter, if the doctor cannot find it")
    p.set_defaults(func=run)


def register(sub: argparse._SubParsersAction) -> None:
    _arguments(sub.add_parser("doctor", help=HELP))


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m jump doctor ...` without the rest of the CLI (which needs numpy)."""
    p = argparse.ArgumentParser(prog="python -m jump doctor", description=HELP)
    p.add_argument("-v", "--verbose", action="store_true", help=argparse.SUPPRESS)
    _arguments(p)
    return run(p.parse_args(argv))


# ---- OBS's Python (finding OBS and its settings: obs_install.py) -----------------------


def _setting_fix(setting: str, platform: str | None) -> str:
    if system(platform) == MACOS:
        if "Python.framework" in setting:  # pointed at the framework itself, one level too deep
            return f"{PYTHON_SETTINGS}: pick the folder that holds Python.framework (/Library/Frameworks)"
        return (
            f"install Python 3.{MAX_MINOR} from python.org (macOS 64-bit universal2 installer), "
            f"then {PYTHON_SETTINGS}: /Library/Frameworks"
        )
    return (
        f"install 64-bit Python 3.{MIN_MINOR}-3.{MAX_MINOR} from python.org (not the Microsoft "
        f"Store), then {PYTHON_SETTINGS}: pick its folder"
    )


def obs_python(
    install: ObsInstall, override: str | None, platform: str | None = None
) -> tuple[Check, str]:
    """(the check, path of OBS's interpreter or '')."""
    if override:
        return Check("OK", "OBS's Python", f"{override} (given with --obs-python)"), override
    setting = python_setting(install)
    if setting:
        exe, version = python_in_setting(setting, platform)
        if exe is not None and exe.is_file():
            detail = f"{exe} (Python {version}, from OBS's Python Settings)"
            return Check("OK", "OBS's Python", detail), str(exe)
        missing = f"OBS is set to {setting}, where OBS finds no Python 3.6-3.{MAX_MINOR}"
        if exe is not None:
            missing = f"OBS loads Python {version} from {setting}, but {exe} is missing"
        return Check("FAIL", "OBS's Python", missing, _setting_fix(setting, platform)), ""
    if install.flatpak:
        return (
            Check("WARN", "OBS's Python", "the Flatpak runs its runtime's Python",
                  "run the checks inside it: flatpak run --command=sh com.obsproject.Studio"),
            "",
        )  # fmt: skip
    version = linked_python(install)
    if version:
        # The interpreter that belongs to the libpython OBS loads: the system one first
        # (a pyenv/conda python of the same version is another build).
        usr_python = Path(f"/usr/bin/python{version}")
        exe = str(usr_python) if usr_python.is_file() else shutil.which(f"python{version}") or ""
        if exe:
            return Check("OK", "OBS's Python", f"{exe} (OBS links libpython{version})"), exe
        return (
            Check("FAIL", "OBS's Python", f"OBS links libpython{version}, no python{version} found",
                  f"install python{version} (Debian/Ubuntu: apt-get install python{version}-venv)"),
            "",
        )  # fmt: skip
    if system(platform) in (WINDOWS, MACOS):
        return Check("FAIL", "OBS's Python", "no Python set in OBS", _setting_fix("", platform)), ""
    exe = "/usr/bin/python3" if Path("/usr/bin/python3").is_file() else ""
    state = "WARN" if exe else "FAIL"
    return Check(state, "OBS's Python", f"assumed the system Python {exe or '(none found)'}"), exe


def _version_of(python: str) -> str:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


# ---- the venv, as OBS's Python sees it -------------------------------------------------


def venv_version(venv: Path) -> str:
    cfg = venv / "pyvenv.cfg"
    if not cfg.is_file():
        return ""
    for line in cfg.read_text(encoding="utf-8", errors="replace").splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("version", "version_info"):
            return ".".join(value.strip().split(".")[:2])
    return ""


def site_packages(venv: Path, version: str) -> Path:
    unix = venv / "lib" / f"python{version}" / "site-packages"
    return unix if unix.is_dir() or os.name != "nt" else venv / "Lib" / "site-packages"


PROBE = r"""
import json, sys
sys.path.insert(1, sys.argv[1])
out = {}
for module in sys.argv[3].split(","):
    try:
        m = __import__(module)
        out[module] = ["ok", getattr(m, "__version__", "")]
    except BaseException as exc:
        out[module] = ["error", f"{type(exc).__name__}: {exc}"[:200]]
providers = {}
try:
    import onnxruntime as ort
    ort.set_default_logger_severity(3)
    for p in ort.get_available_providers():
        if p == "AzureExecutionProvider":  # remote endpoints, not a local device
            continue
        try:
            s = ort.InferenceSession(sys.argv[2], providers=[p])
            providers[p] = "runs" if s.get_providers()[0] == p else "falls back to CPU"
        except BaseException as exc:
            providers[p] = f"{type(exc).__name__}: {exc}"[:160]
except BaseException:
    pass
print(json.dumps({"modules": out, "providers": providers}))
"""


def probe(python: str, site: Path, model: Path) -> dict:
    """Import Jump's dependencies in OBS's Python with the venv on sys.path, as OBS does."""
    names = ",".join(m for m, _ in MODULES)
    try:
        out = subprocess.run(
            [python, "-c", PROBE, str(site), str(model), names],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return {}


# ---- models ---------------------------------------------------------------------------


def model_checks(models: Path = REPO / "models") -> list[Check]:
    import hashlib

    checks = []
    for manifest in sorted(models.glob("*.json")):
        for entry in json.loads(manifest.read_text(encoding="utf-8")):
            if not entry.get("shipped"):
                continue
            path = models / entry["file"]
            name = f"model {entry['id']}"
            restore = f"git checkout -- models/{entry['file']} (or clone Jump again)"
            if not path.is_file():
                checks.append(Check("FAIL", name, f"{path} is missing", restore))
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest != entry["sha256"]:
                checks.append(Check("FAIL", name, f"{path} has the wrong checksum", restore))
            else:
                checks.append(Check("OK", name, f"{entry['file']} ({entry['licence']}), sha256 ok"))
    return checks


# ---- the report -----------------------------------------------------------------------


def diagnose(
    venv: Path, obs_python_override: str | None = None, platform: str | None = None
) -> list[Check]:
    steps = Steps(platform or "")
    checks: list[Check] = []
    install = find_obs()
    if install is None:
        checks.append(
            Check("FAIL", "OBS", "not found (no `obs` on PATH, no Flatpak, no OBS.app/obs64.exe)",
                  "install OBS Studio 28 or later (obsproject.com; Debian/Ubuntu: apt-get install obs-studio)")
        )  # fmt: skip
        python = obs_python_override or ""
    else:
        checks.append(Check("OK", "OBS", install.where))
        check, python = obs_python(install, obs_python_override, platform)
        checks.append(check)
    want = _version_of(python) if python else ""
    if python and not want:
        checks.append(Check("FAIL", "OBS's Python", f"{python} does not run"))
    elif want and tuple(map(int, want.split("."))) < (3, MIN_MINOR):
        checks.append(Check("FAIL", "OBS's Python", f"Python {want}: Jump needs 3.{MIN_MINOR} or later",
                            _setting_fix("", platform)))  # fmt: skip

    have = venv_version(venv)
    if not have:
        checks.append(Check("FAIL", ".venv", f"{venv} is missing or has no pyvenv.cfg",
                            f"{steps.cd(REPO)}\n{steps.setup_script()}"))  # fmt: skip
    elif want and have != want:
        checks.append(
            Check("FAIL", ".venv", f"made with Python {have}, but OBS runs Python {want}: "
                  "its binary packages cannot load in OBS",
                  "\n".join(steps.make_venv(venv, want, python, REPO / "requirements.txt")))
        )  # fmt: skip
    else:
        checks.append(Check("OK", ".venv", f"{venv} made with Python {have}"))

    model = REPO / "models" / "matte" / "mediapipe.onnx"
    if python and want and have:
        site = site_packages(venv, want)
        result = probe(python, site, model)
        if not result:
            checks.append(Check("FAIL", "imports", f"could not run {python} on {site}"))
        mismatch = have != want
        for module, package in MODULES:
            state, info = result.get("modules", {}).get(module, ["error", "not checked"])
            name = f"import {module} in OBS's Python"
            if state == "ok":
                checks.append(Check("OK", name, f"{package} {info}".strip()))
            else:
                fix = (
                    "recreate the venv with OBS's Python (see .venv above)"
                    if mismatch
                    else steps.pip_install(venv, REPO / "requirements.txt")
                )
                if ARCH_MISMATCH.search(info):  # e.g. an Intel OBS under Rosetta, arm64 wheels
                    fix = ("OBS, its Python and the venv's packages must be built for the same "
                           "CPU: on Apple Silicon use the Apple Silicon OBS and a universal2 "
                           "python.org Python, then recreate the venv (see .venv above)")  # fmt: skip
                checks.append(Check("FAIL", name, info, fix))  # fmt: skip
        providers = result.get("providers", {})
        for provider, outcome in providers.items():
            state = "OK" if outcome == "runs" else "WARN"
            fix = "" if state == "OK" else "see docs/gpu.md; Jump falls back to the CPU"
            checks.append(Check(state, f"provider {provider}", f"{outcome} (mediapipe.onnx)", fix))
        ort_ok = result.get("modules", {}).get("onnxruntime", ["error"])[0] == "ok"
        if ort_ok and not providers:
            checks.append(Check("FAIL", "providers", "onnxruntime has no provider that loads"))
    checks.extend(model_checks())
    return checks


def run(args: argparse.Namespace) -> int:
    # A Windows console redirected to a file writes cp1252: a path it cannot encode must
    # not turn the report into a traceback.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    checks = diagnose(Path(args.venv), args.obs_python)
    for check in checks:
        print(check.line())
    failed = sum(c.state == "FAIL" for c in checks)
    print(f"{len(checks)} checks, {failed} failed" + ("" if failed else ": Jump is ready for OBS"))
    return 1 if failed else 0
