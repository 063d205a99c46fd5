"""scripts/gpu/obs_bundle.py's stubs: libobs loads (it binds every symbol at load) with
PulseAudio, Wayland and xkbcommon replaced by generated stubs of the same sonames,
and a stubbed function answers 0. Needs Debian's libobs, gcc and readelf (else skipped)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jump.lab.paths import REPO

LIBOBS = Path("/usr/lib/x86_64-linux-gnu/libobs.so.0")
# (GIO stays real here: the system's librsvg, under libavcodec, needs more of it than libobs)
STUBBED = ("libpulse.so.0", "libwayland-client.so.0", "libxkbcommon.so.0")


def bundle_module():
    spec = importlib.util.spec_from_file_location("obs_bundle", REPO / "scripts/gpu/obs_bundle.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_libobs_loads_on_generated_stubs(tmp_path: Path) -> None:
    if not (LIBOBS.exists() and shutil.which("gcc") and shutil.which("readelf")):
        pytest.skip("needs libobs (obs-studio), gcc and readelf")
    b = bundle_module()
    where = b.soname_paths()
    imports = b.symbols(LIBOBS)[0]
    pulse_calls = sorted(n for n, _ in imports if n.startswith("pa_threaded_mainloop_new"))
    assert pulse_calls, "libobs imports PulseAudio's main loop"
    for soname in STUBBED:
        exports = b.symbols(where[soname])[1]
        wanted = {(n, v) for n, v in imports if n in exports}
        assert wanted, soname  # libobs imports something from each
        source, versions = b.stub_source(soname, exports, wanted)
        b.build_stub(soname, source, versions, tmp_path / soname, tmp_path)
        # the stub holds only what libobs imports: far smaller than the library
        assert (tmp_path / soname).stat().st_size < where[soname].stat().st_size

    # BIND_NOW: libobs fails to load if any import from the stubs is missing
    probe = (
        "import ctypes, os\n"
        f"ctypes.CDLL({str(LIBOBS)!r}, mode=os.RTLD_NOW)\n"
        "pulse = ctypes.CDLL('libpulse.so.0')\n"
        f"print(pulse.{pulse_calls[0]}())\n"
    )
    env = {**os.environ, "LD_LIBRARY_PATH": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "0"  # the stub answered 0 (a NULL main loop)
    assert f"{pulse_calls[0]} (stub of libpulse.so.0) called" in out.stderr
