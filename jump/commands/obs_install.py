"""Where OBS is installed, which Python it loads, as OBS itself finds them (for the doctor).

Standard library only, like the doctor.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from jump.setup_steps import MACOS, MAX_MINOR, WINDOWS, system

FLATPAK_ID = "com.obsproject.Studio"


@dataclass
class ObsInstall:
    where: str  # what was found, for the report
    config_dirs: list[Path]  # where its global.ini / user.ini may live
    scripting_dirs: list[Path]  # where _obspython lives
    flatpak: bool = False


# ---- OBS ------------------------------------------------------------------------------


def find_obs() -> ObsInstall | None:
    home = Path.home()
    if sys.platform.startswith("linux"):
        obs = shutil.which("obs")
        if obs:
            libs = [Path(p) for p in ("/usr/lib", "/usr/lib64", "/usr/local/lib")]
            libs += list(Path("/usr/lib").glob("*-linux-gnu"))
            return ObsInstall(
                f"{obs} ({_obs_version(obs)})",
                [home / ".config" / "obs-studio"],
                [lib / "obs-scripting" for lib in libs],
            )
        for root in (home / ".local/share/flatpak", Path("/var/lib/flatpak")):
            app = root / "app" / FLATPAK_ID
            if app.is_dir():
                return ObsInstall(
                    f"Flatpak {FLATPAK_ID} ({app})",
                    [home / ".var/app" / FLATPAK_ID / "config/obs-studio"],
                    list(app.glob("current/active/files/lib/obs-scripting")),
                    flatpak=True,
                )
        return None
    if sys.platform == "darwin":
        app = Path("/Applications/OBS.app")
        if not app.is_dir():
            return None
        return ObsInstall(
            str(app),
            [home / "Library/Application Support/obs-studio"],
            [app / "Contents/PlugIns", app / "Contents/Resources"],
        )
    if os.name == "nt":
        folder = _windows_obs_folder()
        if folder is None:
            return None
        appdata = Path(os.environ.get("APPDATA", home / "AppData/Roaming"))
        return ObsInstall(str(folder), [appdata / "obs-studio"], [folder / "data/obs-scripting"])
    return None


def _windows_obs_folder() -> Path | None:
    try:
        import winreg

        for hive in (winreg.HKEY_LOCAL_MACHINE, winreg.HKEY_CURRENT_USER):
            try:
                with winreg.OpenKey(hive, r"SOFTWARE\OBS Studio") as key:
                    return Path(winreg.QueryValueEx(key, "")[0])
            except OSError:
                continue
    except ImportError:
        pass
    for base in (os.environ.get("PROGRAMFILES"), os.environ.get("PROGRAMFILES(X86)")):
        if base and (Path(base) / "obs-studio/bin/64bit/obs64.exe").is_file():
            return Path(base) / "obs-studio"
    return None


def _obs_version(obs: str) -> str:
    try:
        out = subprocess.run([obs, "--version"], capture_output=True, text=True, timeout=30)
        return (out.stdout.strip().splitlines() or ["version unknown"])[-1]
    except (OSError, subprocess.SubprocessError):
        return "version unknown"


def python_setting(install: ObsInstall) -> str:
    """The Python folder set in OBS → Tools → Scripts → Python Settings ('' if none)."""
    for folder in install.config_dirs:
        for name in ("user.ini", "global.ini"):  # OBS 31 moved user settings to user.ini
            ini = folder / name
            if not ini.is_file():
                continue
            parser = configparser.ConfigParser(strict=False, interpolation=None)
            parser.optionxform = str
            try:
                parser.read_string(ini.read_text(encoding="utf-8-sig", errors="replace"))
            except configparser.Error:
                continue
            for key in ("Path64bit", "Path"):
                value = parser.get("Python", key, fallback="")
                if value:
                    return value
    return ""


def linked_python(install: ObsInstall) -> str:
    """major.minor of the libpython OBS's scripting module links against ('' if unknown)."""
    for folder in install.scripting_dirs:
        for lib in list(folder.glob("_obspython*")) + list(folder.glob("obs-scripting*")):
            try:
                match = re.search(rb"libpython(3\.\d+)", lib.read_bytes())
            except OSError:
                continue
            if match:
                return match.group(1).decode()
    return ""


def python_in_setting(setting: str, platform: str | None = None) -> tuple[Path | None, str]:
    """(interpreter, major.minor) of the Python OBS loads from its Python Settings folder.

    Mirrors OBS's own search (obs-scripting-python-import.c): from 3.12 down, the first
    ``python3X.dll`` in the folder (Windows) or
    ``Python.framework/Versions/3.X/lib/libpython3.X.dylib`` under it (macOS: the setting
    is the folder *holding* Python.framework, e.g. /Library/Frameworks).
    """
    base = Path(setting)
    for minor in range(MAX_MINOR, 5, -1):
        version = f"3.{minor}"
        if system(platform) == WINDOWS:
            if (base / f"python3{minor}.dll").is_file():
                return base / "python.exe", version
        elif system(platform) == MACOS:
            framework = base / "Python.framework" / "Versions" / version
            if (framework / "lib" / f"libpython{version}.dylib").is_file():
                return framework / "bin" / f"python{version}", version
        else:  # OBS on Linux links the system libpython; a setting is not used
            for exe in (base / "bin" / f"python{version}", base / f"python{version}"):
                if exe.is_file():
                    return exe, version
    return None, ""
