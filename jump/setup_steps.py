"""The commands a streamer is told to type, rendered for their system from one place.

`jump_obs.py` (OBS's script description and log) and `jump doctor` (its fixes) both show
set-up commands. Linux, macOS and Windows differ in more than the path separator: the
venv's interpreter is `.venv\\Scripts\\python.exe` on Windows; a bare `python3` there is the
Microsoft Store alias; Windows PowerShell 5.1 cannot parse `&&`; `rm -rf` does not exist;
`file://C:\\...` is not a link. So every command is one line (no `&&`), the venv is rebuilt
with `python -m venv --clear` (no `rm`), links come from `as_uri()`, interpreters are named
by full path or `py -3.X`, and no text uses a character outside cp1252 (a redirected
Windows console writes cp1252 and would raise on it).

Standard library only: this runs in OBS before Jump's packages are found, and in the
doctor, whose job is a broken venv.
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import PurePath, PurePosixPath, PureWindowsPath

WINDOWS, MACOS, LINUX = "win32", "darwin", "linux"
# OBS 28-32 loads Python 3.x up to PY_MINOR_VERSION_MAX 12 on Windows and macOS
# (shared/obs-scripting/obs-scripting-python-import.c); Jump needs 3.10 or later.
MIN_MINOR, MAX_MINOR = 10, 12
ARROW = ">"  # "OBS > Tools > Scripts": the arrow sign is not in cp1252


def system(platform: str | None = None) -> str:
    """``win32``, ``darwin`` or ``linux`` (any other Unix renders as Linux)."""
    platform = sys.platform if platform is None else platform
    if platform.startswith("win"):
        return WINDOWS
    return MACOS if platform == "darwin" else LINUX


@dataclass(frozen=True)
class Steps:
    """Set-up commands for one system (default: the running one)."""

    platform: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "platform", system(self.platform or None))

    @property
    def windows(self) -> bool:
        return self.platform == WINDOWS

    def path(self, path: str | PurePath) -> PurePath:
        return PureWindowsPath(path) if self.windows else PurePosixPath(path)

    def quote(self, text: str | PurePath) -> str:
        text = str(text)
        if self.windows:
            return f'"{text}"' if re.search(r"[\s'&()@$;,`{}]", text) else text
        return shlex.quote(text)

    def run(self, exe: str | PurePath, args: str) -> str:
        """``exe args`` as typed in the shell (PowerShell needs ``&`` before a quoted path)."""
        quoted = self.quote(exe)
        call = f"& {quoted}" if self.windows and quoted.startswith('"') else quoted
        return f"{call} {args}"

    def venv_python(self, venv: str | PurePath = ".venv") -> PurePath:
        v = self.path(venv)
        return v / "Scripts" / "python.exe" if self.windows else v / "bin" / "python"

    def python_of(self, prefix: str | PurePath, version: str) -> PurePath:
        """The interpreter of an installation whose ``sys.base_prefix`` is ``prefix``."""
        p = self.path(prefix)
        return p / "python.exe" if self.windows else p / "bin" / f"python{version}"

    def python_command(self, version: str, exe: str | PurePath = "") -> str:
        """How to start OBS's Python: its path if known, else the launcher or versioned name."""
        if exe:
            return self.run(exe, "").rstrip()
        if self.windows:
            return f"py -{version}"
        if self.platform == MACOS:
            return f"/Library/Frameworks/Python.framework/Versions/{version}/bin/python{version}"
        return f"python{version}"

    def cd(self, folder: str | PurePath) -> str:
        return f"cd {self.quote(self.path(folder))}"

    def make_venv(
        self, venv: str | PurePath, version: str, exe: str | PurePath, requirements: str | PurePath
    ) -> list[str]:
        """(Re)create ``venv`` with OBS's Python and install Jump's packages: one line each."""
        python = self.python_command(version, exe)
        return [
            f"{python} -m venv --clear {self.quote(self.path(venv))}",
            self.pip_install(venv, requirements),
        ]

    def pip_install(self, venv: str | PurePath, requirements: str | PurePath) -> str:
        req = self.quote(self.path(requirements))
        return self.run(self.venv_python(venv), f"-m pip install -r {req}")

    def setup_script(self) -> str:
        if self.windows:
            return r"powershell -ExecutionPolicy Bypass -File scripts\setup.ps1"
        return "bash scripts/setup"

    def doctor(self) -> str:
        return f"{self.venv_python('.venv')} -m jump doctor"

    def link(self, path: str | PurePath) -> str:
        return self.path(path).as_uri()


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _code_lines(lines: list[str]) -> str:
    return "".join(f"<br><code>{_html(line)}</code>" for line in lines)


def doctor_html(here: str | PurePath, steps: Steps) -> str:
    """The script description's pointer to `jump doctor` and the troubleshooting page."""
    guide = steps.path(here) / "docs" / "troubleshooting.md"
    return (
        "<br>Something off? In a terminal:"
        + _code_lines([steps.cd(here), steps.doctor()])
        + "<br>checks OBS's Python, the .venv, the packages and the models, one line each "
        f'(<a href="{steps.link(guide)}">docs/troubleshooting.md</a>).'
    )


def missing_html(
    missing: list[str],
    here: str | PurePath,
    version: str,
    exe: str | PurePath,
    steps: Steps,
    venv_version: str = "",
) -> str:
    """OBS's script description when packages are missing: what, and the commands to fix it.

    ``version`` and ``exe`` are OBS's Python (never ``sys.executable``: inside OBS that is
    ``obs64.exe`` or the OBS binary); ``exe`` may be '' when unknown.
    """
    venv = steps.path(here) / ".venv"
    hint = (
        f"<br>The .venv was made with Python {venv_version}, but OBS runs Python {version}: "
        "the commands below recreate it with OBS's."
        if venv_version and venv_version != version
        else ""
    )
    commands = [
        steps.cd(here),
        *steps.make_venv(venv, version, exe, venv.parent / "requirements.txt"),
    ]
    return (
        "<b>Jump</b>: missing Python packages: "
        + _html(", ".join(missing))
        + f".<br>Install them for OBS's Python {version}"
        + (f" ({_html(str(exe))})" if exe else "")
        + ", one command per line:"
        + _code_lines(commands)
        + f"<br>or run <code>{_html(steps.setup_script())}</code> there; then reload this "
        "script. Until then both filters pass audio and video through unchanged."
        + hint
        + doctor_html(here, steps)
    )


def missing_log(missing: list[str], here: str | PurePath, version: str, steps: Steps) -> str:
    """The same advice as one plain log line (OBS's log has no HTML)."""
    return (
        f"missing Python packages: {', '.join(missing)}; filters pass media through. "
        f"Install them for OBS's Python {version}: in {steps.path(here)} run "
        f"{steps.setup_script()} (then reload the script)"
    )
