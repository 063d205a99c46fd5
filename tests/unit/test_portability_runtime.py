"""Runtime behaviour that differs on Windows and macOS, exercised on Linux.

- the staged-texture read-back with a row pitch wider than width*4 (D3D11 pads rows of
  mapped staging textures; GL on Linux does not, so the e2e tests never see it);
- DeepFilterNet3's auto-choice timing counts its own thread only (inside OBS every other
  thread of the process is busy);
- pictures under non-ASCII paths (cv2.imread takes an ANSI path on Windows);
- lowering the matte worker's priority never raises on any system.
"""

from __future__ import annotations

import ctypes
import os
import re
import threading
import time
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

from jump import thread_priority
from jump.images import read_image, write_image
from jump.matte.zones import KeepZones
from jump.obs import graphics as G

REPO = Path(__file__).resolve().parents[2]
DFN3 = REPO / "models" / "denoise" / "deepfilternet3-stream.onnx"


class _StagingGpu:
    """libobs's stage-surface calls, backed by CPU memory with D3D11's padded rows."""

    def __init__(self, pitch_extra: int) -> None:
        self.pitch_extra = pitch_extra
        self.surfaces: dict[int, np.ndarray] = {}
        self.textures: dict[int, np.ndarray] = {}
        self.mapped = 0

    def gs_stagesurface_create(self, w: int, h: int, fmt: int) -> int:
        handle = 100 + len(self.surfaces)
        pitch = w * 4 + self.pitch_extra  # e.g. 256-byte aligned rows
        self.surfaces[handle] = np.full((h, pitch), 0xEE, np.uint8)  # padding = junk
        return handle

    def gs_stage_texture(self, surface: int, texture: int) -> None:
        pixels = self.textures[texture]
        h, w = pixels.shape[:2]
        self.surfaces[surface][:, : w * 4] = pixels.reshape(h, w * 4)

    def gs_stagesurface_map(self, surface: int, data, linesize) -> bool:
        buf = self.surfaces[surface]
        data._obj.value = buf.ctypes.data
        linesize._obj.value = buf.shape[1]
        self.mapped += 1
        return True

    def gs_stagesurface_unmap(self, surface: int) -> None:
        self.mapped -= 1

    def gs_stagesurface_destroy(self, surface: int) -> None:
        self.surfaces.pop(surface)


@pytest.mark.parametrize("pitch_extra", [0, 64, 256 - (1279 * 4) % 256])
def test_stage_ring_reads_back_rows_with_a_wider_pitch(
    pitch_extra: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    gpu = _StagingGpu(pitch_extra)
    monkeypatch.setattr(G.L, "fn", lambda: gpu)
    rng = np.random.default_rng(1)
    w, h = 1279, 7  # odd width: its rows are not a multiple of D3D11's alignment
    frames = [rng.integers(0, 255, (h, w, 4), dtype=np.uint8) for _ in range(3)]
    ring = G.StageRing(2)
    got = []
    for frame_id, frame in enumerate(frames):
        gpu.textures[frame_id] = frame
        ring.stage(frame_id, w, h, frame_id)
        got.append(ring.read_oldest())
    assert got[0] is None  # nothing staged a frame ago yet
    for (pixels, frame_id), want in zip(got[1:], frames[:-1], strict=True):
        assert pixels.shape == (h, w, 4) and pixels.flags.c_contiguous
        np.testing.assert_array_equal(pixels, frames[frame_id])
        np.testing.assert_array_equal(pixels, want)
    assert gpu.mapped == 0  # every map was unmapped
    ring.destroy()


def _spin(stop: threading.Event) -> None:
    a = np.random.default_rng(0).normal(size=(300, 300))
    while not stop.is_set():
        a = np.tanh(a @ a)  # BLAS and ufuncs release the GIL: real CPU beside the measurement


def _median_rtf(core, n: int = 3) -> float:
    return float(np.median([core.realtime_factor() for _ in range(n)]))


def test_model_choice_timing_ignores_other_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same measurement with another thread burning CPU: the thread's own clock leaves
    the other thread out; the process clock (the old one), under the same load, counts it."""
    if not DFN3.is_file():
        pytest.skip("models/denoise/deepfilternet3-stream.onnx not shipped")
    from jump.denoise import dfn3

    core = dfn3.Dfn3(DFN3)
    quiet = _median_rtf(core)
    stop = threading.Event()
    spinner = threading.Thread(target=_spin, args=(stop,), daemon=True)
    spinner.start()
    try:
        time.sleep(0.05)
        busy = _median_rtf(core)
        # control: what process_time() (the old clock) reports under the same load
        monkeypatch.setattr(dfn3, "time", types.SimpleNamespace(thread_time=time.process_time))
        process_clock = _median_rtf(core)
    finally:
        stop.set()
        spinner.join()
    # Not asserted: busy ≈ quiet. On a VM whose two vCPUs share a physical core, the
    # measuring thread's own CPU time rises under the spinner (2.4x seen on this box) —
    # contention, not the clock. What the clock must do is leave the spinner's CPU out:
    # the old process clock, under the same load, counts it (CI saw 1.5x, this box 2x).
    assert quiet > 0 and busy > 0, (quiet, busy)
    assert process_clock > 1.25 * busy, (busy, process_clock)


def test_pictures_under_non_ascii_paths(tmp_path: Path) -> None:
    folder = tmp_path / "Zoë Łódź 日本語"
    folder.mkdir()
    zones = np.zeros((90, 160, 4), np.uint8)
    zones[:, 80:] = (255, 255, 255, 255)  # right half: keep
    zones[:, :80, 3] = 0  # left half transparent: the model decides
    path = folder / "keep zones.png"
    assert write_image(path, zones)
    np.testing.assert_array_equal(read_image(path, cv2.IMREAD_UNCHANGED), zones)
    loaded = KeepZones(os.fspath(path))
    assert loaded.error is None
    keep, remove = loaded.overrides((160, 90))
    assert keep[:, 100:].min() == 1.0 and keep[:, :60].max() == 0.0 and remove.max() == 0.0
    # missing, empty and non-picture files: None, never an exception
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.png").write_text("not a picture")
    for bad in ("missing.png", "empty.png", "text.png"):
        assert read_image(folder / bad) is None
    assert KeepZones(os.fspath(folder / "text.png")).error is not None


def test_the_runtime_reads_pictures_through_jump_images() -> None:
    """cv2.imread/imwrite take ANSI paths on Windows: the runtime (not the lab) must not."""
    runtime = [p for p in (REPO / "jump").rglob("*.py") if "lab" not in p.relative_to(REPO).parts]
    calls = [
        f"{p.relative_to(REPO)}:{n}"
        for p in runtime
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bcv2\.im(read|write)\(", line)
    ]
    assert not calls, calls


def test_lowering_priority_on_each_system_never_raises() -> None:
    results: dict[str, object] = {}

    def worker() -> None:
        results["linux"] = thread_priority.lower_current_thread(nice=5)
        results["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        for platform in ("win32", "darwin"):  # their libraries are absent here: False
            results[platform] = thread_priority.lower_current_thread(platform=platform)

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert results["linux"] is True and results["nice"] >= 5
    assert results["win32"] is False and results["darwin"] is False
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before  # only that thread
    # the Windows call's signature: HANDLE is pointer-sized, priority an int (LLP64-safe)
    src = Path(thread_priority.__file__).read_text(encoding="utf-8")
    assert "SetThreadPriority.argtypes = [ctypes.c_void_p, ctypes.c_int]" in src
    assert ctypes.sizeof(ctypes.c_void_p) == 8


def test_directml_dll_is_taken_from_the_wheel(tmp_path: Path) -> None:
    from jump import directml

    package = tmp_path / "onnxruntime"
    (package / "capi").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    assert directml.wheel_dll(str(package / "__init__.py")) is None  # a CPU-only build
    (package / "capi" / "DirectML.dll").write_bytes(b"MZ")
    assert directml.wheel_dll(str(package / "__init__.py")) == package / "capi" / "DirectML.dll"
    assert directml.preload(platform="linux") is None  # nothing to do off Windows


def test_package_folder_pth_files_are_honoured(tmp_path: Path, monkeypatch) -> None:
    """jump_obs adds the venv with site.addsitedir: its .pth files run (pywin32 needs
    that), and the folder goes ahead of OBS's own ones."""
    import sys

    import jump_obs

    site_dir, extra = tmp_path / "site-packages", tmp_path / "extra"
    site_dir.mkdir()
    extra.mkdir()
    (site_dir / "vendor.pth").write_text(f"{extra}\n")
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delenv("JUMP_SITE_PACKAGES", raising=False)
    added = jump_obs.add_package_paths(str(site_dir))
    assert str(site_dir) in added
    assert sys.path[1] == str(site_dir) and str(extra) in sys.path[1:3]
