"""Jump for OBS Studio — load this file in Tools → Scripts.

OBS runs scripts in its own (system) Python, not in a virtual environment, so this
entry finds Jump's installed packages itself, in this order:
1. the folder in the environment variable JUMP_SITE_PACKAGES (a site-packages folder);
2. the "Python packages folder" set in this script's properties (needs a script reload);
3. the `.venv` next to this file (what the README's setup command creates).
Then it registers "Jump Matte" (video) and "Jump Denoise" (audio) with OBS. Missing
dependencies never stop the filters from registering: they pass media through and
this script's description says what to install.
"""

from __future__ import annotations

import os
import site
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
S_SITE_PACKAGES = "site_packages"
PY_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
PY_TAG = f"python{PY_VERSION}"

if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from jump import setup_steps  # noqa: E402  (standard library only; needs HERE on sys.path)

STEPS = setup_steps.Steps()


def _venv_site_packages(venv: Path) -> list[Path]:
    return [venv / "lib" / PY_TAG / "site-packages", venv / "Lib" / "site-packages"]


def _candidates(user_path: str = "") -> list[Path]:
    found = []
    if os.environ.get("JUMP_SITE_PACKAGES"):
        found.append(Path(os.environ["JUMP_SITE_PACKAGES"]))
    if user_path:
        found.append(Path(user_path).expanduser())
    found.extend(_venv_site_packages(HERE / ".venv"))
    return found


def _venv_python_mismatch() -> str:
    """The .venv's Python version if it differs from OBS's (its binary packages won't load)."""
    cfg = HERE / ".venv" / "pyvenv.cfg"
    if not cfg.is_file():
        return ""
    for line in cfg.read_text(encoding="utf-8", errors="replace").splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("version", "version_info"):
            major_minor = ".".join(value.strip().split(".")[:2])
            if major_minor != f"{sys.version_info.major}.{sys.version_info.minor}":
                return major_minor
    return ""


def add_package_paths(user_path: str = "") -> list[str]:
    added = []
    for path in _candidates(user_path):
        if path.is_dir() and str(path) not in sys.path:
            # addsitedir also runs the folder's .pth files (pywin32, editable installs);
            # it appends, so move what it added ahead of OBS's own folders.
            before = list(sys.path)
            site.addsitedir(str(path))
            new = [p for p in sys.path if p not in before]
            sys.path[:] = [sys.path[0], *new, *(p for p in sys.path[1:] if p not in new)]
            added.append(str(path))
    return added


def obs_python() -> str:
    """OBS's interpreter (sys.executable is OBS itself inside OBS), '' if not found."""
    exe = STEPS.python_of(sys.base_prefix, PY_VERSION)
    return str(exe) if Path(exe).is_file() else ""


def missing_dependencies() -> list[str]:
    missing = []
    for module, package in (
        ("numpy", "numpy"),
        ("scipy", "scipy"),
        ("cv2", "opencv-python-headless"),
        ("onnxruntime", "onnxruntime"),
    ):
        try:
            __import__(module)
        except Exception as exc:  # a broken binary install raises more than ImportError
            missing.append(f"{package} ({type(exc).__name__}: {exc})")
    return missing


def status_text(missing: list[str]) -> str:
    if not missing:
        return (
            "<b>Jump</b>: Jump Matte and Jump Denoise are in each source's Filters list."
            + setup_steps.doctor_html(HERE, STEPS)
        )
    return setup_steps.missing_html(
        missing, HERE, PY_VERSION, obs_python(), STEPS, _venv_python_mismatch()
    )


add_package_paths()
MISSING = missing_dependencies()


# --- OBS script hooks ------------------------------------------------------------------
def script_description() -> str:
    return status_text(MISSING)


def script_load(settings: object) -> None:
    global MISSING
    import obspython as obs

    user_path = obs.obs_data_get_string(settings, S_SITE_PACKAGES)
    if add_package_paths(user_path):
        MISSING = missing_dependencies()

    from jump import catalogue
    from jump.filters import register_all
    from jump.obs import log as obs_log

    catalogue.forget_manifests()  # a script reload reads models/*.json afresh
    obs_log.install()
    import logging

    log = logging.getLogger("jump")
    if MISSING:
        log.warning(
            "%s (paths tried: %s)",
            setup_steps.missing_log(MISSING, HERE, PY_VERSION, STEPS),
            ", ".join(str(p) for p in _candidates(user_path)),
        )
    names = register_all()
    log.info("Jump loaded from %s; filters: %s", HERE, ", ".join(names) or "none")


def script_unload() -> None:
    # Filter types stay registered and live filters keep running: libobs cannot
    # unregister a source type, and a reload must not interrupt a stream.
    pass


def script_defaults(settings: object) -> None:
    import obspython as obs

    obs.obs_data_set_default_string(settings, S_SITE_PACKAGES, "")


def script_properties() -> object:
    import obspython as obs

    props = obs.obs_properties_create()
    obs.obs_properties_add_path(
        props,
        S_SITE_PACKAGES,
        "Python packages folder (site-packages)",
        obs.OBS_PATH_DIRECTORY,
        "",
        str(HERE),
    )
    return props
