"""A real, headless OBS for end-to-end tests: Xvfb + obs + obs-websocket, in a temp HOME.

`ObsProcess` writes a fresh config (OBS rewrites global.ini on exit, so every start
writes it again), starts Xvfb and OBS with software GL, connects an obs-websocket
client, and always tears both down. The scene collection loads `jump_obs.py` as a
script the way the Scripts dialog does, so filter types exist before sources load.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from jump.lab.paths import REPO, shared_dir

SHARED = shared_dir()
__all__ = ["REPO", "SHARED"]  # the e2e tests and `bench obs` take both from here
OBS_BIN = shutil.which("obs")
XVFB_BIN = shutil.which("Xvfb")
WS_PASSWORD = "jump-test"
logging.getLogger("obsws_python").setLevel(logging.CRITICAL)  # connection retries are expected


def obs_version() -> tuple[int, int, int]:
    out = subprocess.run([OBS_BIN, "--version"], capture_output=True, text=True, timeout=30)
    # "OBS Studio - 29.0.2.1-1+b1 (linux)"
    numbers = out.stdout.strip().splitlines()[-1].split(" - ")[-1].split()[0].split(".")
    major, minor, patch = (int("".join(c for c in n if c.isdigit()) or 0) for n in numbers[:3])
    return major, minor, patch


def _free_port() -> int:
    """A free loopback TCP port, so concurrent OBS runs never answer each other's client."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _free_display() -> int:
    for n in range(90, 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number")


def scene_collection(
    sources: list[dict[str, Any]],
    scripts: list[Path],
    scene_items: list[str] | None = None,
) -> dict[str, Any]:
    """A scene collection named "Jump" with one scene holding `scene_items` (default: all)."""
    names = scene_items if scene_items is not None else [s["name"] for s in sources]
    items = [{"name": n, "visible": True, "id": i + 1} for i, n in enumerate(names)]
    scene = {
        "id": "scene",
        "versioned_id": "scene",
        "name": "Scene",
        "settings": {"items": items, "id_counter": len(items)},
    }
    for src in sources:
        src.setdefault("versioned_id", src["id"])
        src.setdefault("settings", {})
    return {
        "name": "Jump",
        "current_scene": "Scene",
        "current_program_scene": "Scene",
        "scene_order": [{"name": "Scene"}],
        "sources": [*sources, scene],
        "modules": {"scripts-tool": [{"path": str(p), "settings": {}} for p in scripts]},
    }


def media_source(name: str, path: Path, filters: list[dict] | None = None) -> dict[str, Any]:
    # Not looping: a loop point inside a recording would be a gap of ffmpeg_source's own.
    return {
        "id": "ffmpeg_source",
        "name": name,
        "settings": {"local_file": str(path), "is_local_file": True, "looping": False},
        "filters": filters or [],
    }


def image_source(name: str, png: Path, filters: list[dict] | None = None) -> dict[str, Any]:
    return {
        "id": "image_source",
        "name": name,
        "settings": {"file": str(png)},
        "filters": filters or [],
    }


def jump_filter(kind: str, name: str, settings: dict | None = None) -> dict[str, Any]:
    return {"id": kind, "versioned_id": kind, "name": name, "settings": settings or {}}


def read_stats(path: Path, kind: str) -> dict[str, Any]:
    """The first `kind` filter's stats() from the file jump_test_hooks.py writes ("stats")."""
    return next(
        row for row in map(json.loads, path.read_text().splitlines()) if row["kind"] == kind
    )


class ObsProcess:
    """One OBS run. Use as a context manager; `client` is an obsws_python.ReqClient."""

    def __init__(
        self,
        home: Path,
        collection: dict[str, Any],
        env: dict[str, str] | None = None,
        canvas: tuple[int, int] = (1280, 720),
        audio: tuple[int, str] = (48000, "Stereo"),
        preview: bool = True,
        fps: int = 30,
    ):
        self.home = home
        self.canvas = canvas
        self.audio = audio  # (sample rate, OBS ChannelSetup: "Mono", "Stereo", "5.1", ...)
        self.port = _free_port()
        self.collection = collection
        self.extra_env = env or {}
        self.version = obs_version()
        self.xvfb: subprocess.Popen[bytes] | None = None
        self.obs: subprocess.Popen[bytes] | None = None
        self.client: Any = None
        self.record_dir = home / "recordings"
        self.exit_report = ""
        self.display = ""  # the Xvfb display OBS runs on, e.g. ":90" (for screen grabs)
        # Drawing the main window's preview is llvmpipe work a real GPU does for free; a
        # stream that must render in real time on 2 cores runs without it.
        self.preview = preview
        self.fps = fps

    # --- config --------------------------------------------------------------------
    def write_config(self, write_collection: bool = True) -> None:
        cfg = self.home / ".config" / "obs-studio"
        major, minor, patch = self.version
        last_version = (major << 24) | (minor << 16) | patch
        general = (
            f"[General]\nFirstRun=true\nLastVersion={last_version}\nConfirmOnExit=false\n"
            "EnableAutoUpdates=false\n[Basic]\nConfigOnNewProfile=false\n"
            "Profile=Jump\nProfileDir=Jump\nSceneCollection=Jump\nSceneCollectionFile=Jump\n"
            "[BasicWindow]\nSysTrayEnabled=false\nSysTrayWhenStarted=false\n"
            f"PreviewEnabled={str(self.preview).lower()}\n"
        )
        websocket = (
            f"[OBSWebSocket]\nFirstLoad=false\nServerEnabled=true\nServerPort={self.port}\n"
            f"AuthRequired=true\nServerPassword={WS_PASSWORD}\nAlertsEnabled=false\n"
        )
        cfg.mkdir(parents=True, exist_ok=True)
        (cfg / "global.ini").write_text(general + websocket)
        (cfg / "user.ini").write_text(general)
        ws_dir = cfg / "plugin_config" / "obs-websocket"
        ws_dir.mkdir(parents=True, exist_ok=True)
        (ws_dir / "config.json").write_text(
            json.dumps(
                {
                    "first_load": False,
                    "server_enabled": True,
                    "server_port": self.port,
                    "auth_required": True,
                    "server_password": WS_PASSWORD,
                    "alerts_enabled": False,
                }
            )
        )
        profile = cfg / "basic" / "profiles" / "Jump"
        profile.mkdir(parents=True, exist_ok=True)
        self.record_dir.mkdir(parents=True, exist_ok=True)
        (profile / "basic.ini").write_text(
            "[General]\nName=Jump\n"
            f"[Video]\nBaseCX={self.canvas[0]}\nBaseCY={self.canvas[1]}\n"
            f"OutputCX={self.canvas[0]}\nOutputCY={self.canvas[1]}\nFPSType=1\n"
            f"FPSInt={self.fps}\n"
            f"[Audio]\nSampleRate={self.audio[0]}\nChannelSetup={self.audio[1]}\n"
            "[Output]\nMode=Advanced\n"
            "[AdvOut]\nRecType=FFmpeg\nFFOutputToFile=true\n"
            f"FFFilePath={self.record_dir}\nFFExtension=mkv\nFFFormat=matroska\n"
            "FFFormatMimeType=video/x-matroska\nFFVEncoderId=0\nFFVEncoder=\n"
            "FFAEncoderId=65557\nFFAEncoder=pcm_f32le\nFFAudioMixes=1\nFFABitrate=1536\n"
            "FFVBitrate=2500\nFFVGOPSize=30\nFFIgnoreCompat=true\n"
            f"RecFilePath={self.record_dir}\nRecFormat=mkv\n"
        )
        scenes = cfg / "basic" / "scenes"
        scenes.mkdir(parents=True, exist_ok=True)
        if write_collection:
            (scenes / "Jump.json").write_text(json.dumps(self.collection, indent=1))
        for sentinel in (cfg / ".sentinel").glob("run_*") if (cfg / ".sentinel").exists() else []:
            sentinel.unlink()
        shutil.rmtree(cfg / "safe_mode", ignore_errors=True)

    # --- lifecycle -----------------------------------------------------------------
    def start(self, timeout: float = 90.0, write_collection: bool = True) -> ObsProcess:
        """Start OBS; with write_collection=False the collection OBS saved last time loads."""
        import obsws_python

        self.write_config(write_collection)
        display = _free_display()
        self.display = f":{display}"
        self.xvfb = subprocess.Popen(
            [XVFB_BIN, f":{display}", "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("VIRTUAL_ENV", "PYTHON", "QT_")) and k != "DISPLAY"
        }
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            DISPLAY=f":{display}",
            QT_QPA_PLATFORM="xcb",
            LIBGL_ALWAYS_SOFTWARE="1",
        )
        if (SHARED / "models").is_dir():  # the fetchable models; the defaults ship in models/
            env["JUMP_MODELS"] = str(SHARED / "models")
        env.update(self.extra_env)
        args = [
            OBS_BIN,
            "--multi",
            "--collection",
            "Jump",
            "--profile",
            "Jump",
            "--scene",
            "Scene",
            "--disable-missing-files-check",
            "--disable-updater",
        ]
        if self.version[0] in (30, 31):
            args.append("--disable-shutdown-check")
        self.stdout_path = self.home / "obs-stdout.log"
        with open(self.stdout_path, "wb") as out:
            self.obs = subprocess.Popen(
                args,
                env=env,
                cwd=self.home,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.obs.poll() is not None:
                raise RuntimeError(f"OBS exited with {self.obs.returncode}:\n{self.diagnostics()}")
            try:
                self.client = obsws_python.ReqClient(
                    host="127.0.0.1", port=self.port, password=WS_PASSWORD, timeout=30
                )
                self.client.get_version()
                break
            except Exception as exc:
                last_error = exc
                time.sleep(0.5)
        else:
            self.stop()
            raise RuntimeError(f"obs-websocket did not answer: {last_error}\n{self.diagnostics()}")
        self.wait_for_log("Jump loaded", timeout=30)
        return self

    def stop(self) -> int | None:
        """Quit OBS (SIGINT, then SIGKILL) and Xvfb; returns OBS's exit code."""
        code = None
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.disconnect()
            self.client = None
        if self.obs is not None:
            if self.obs.poll() is None:
                self.obs.send_signal(signal.SIGINT)
                try:
                    self.obs.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(self.obs.pid, signal.SIGKILL)
                    self.obs.wait(timeout=10)
            code = self.obs.returncode
            self.obs = None
            if code != 0:
                # keep a copy for the failure message; the temp HOME may be gone by then
                self.exit_report = f"OBS exit code {code}\n{self.diagnostics()[-8000:]}"
        if self.xvfb is not None:
            self.xvfb.terminate()
            try:
                self.xvfb.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.xvfb.kill()
            self.xvfb = None
        return code

    def __enter__(self) -> ObsProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def assert_clean_shutdown(self) -> None:
        """Stop OBS and check our part of the shutdown: every source (and so every Jump
        filter) was destroyed and Jump logged no error.

        The exit code is not asserted: Debian's OBS 29.0.2 itself sometimes segfaults in
        QWidget::event after "All scene data cleared" on SIGINT under Xvfb, with or
        without Jump loaded (seen in about 1 of 6 runs of either).
        """
        self.stop()
        text = self.log_text()
        assert "All scene data cleared" in text, self.exit_report or text[-4000:]
        errors = [line for line in text.splitlines() if "[jump]" in line and "failed" in line]
        assert not errors, "\n".join(errors)

    def alive(self) -> bool:
        return self.obs is not None and self.obs.poll() is None

    # --- helpers -------------------------------------------------------------------
    def log_text(self) -> str:
        """This run's OBS log file."""
        logs = sorted((self.home / ".config" / "obs-studio" / "logs").glob("*.txt"))
        return logs[-1].read_text(errors="replace") if logs else ""

    def diagnostics(self) -> str:
        """The log plus OBS's stdout/stderr (crash output lands there), for failure messages."""
        text = self.log_text()
        if self.stdout_path.exists():
            text += "\n--- stdout ---\n" + self.stdout_path.read_text(errors="replace")[-20000:]
        return text

    def wait_for_log(self, needle: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_text()
            if needle in text:
                return text
            if self.obs is not None and self.obs.poll() is not None:
                break
            time.sleep(0.25)
        raise AssertionError(f"{needle!r} not in the OBS log:\n{self.diagnostics()[-6000:]}")

    def request(self, name: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.client.send(name, data or {}, raw=True) or {}

    def add_filter(self, source: str, name: str, kind: str, settings: dict | None = None) -> None:
        self.request(
            "CreateSourceFilter",
            {
                "sourceName": source,
                "filterName": name,
                "filterKind": kind,
                "filterSettings": settings or {},
            },
        )

    def set_filter(self, source: str, name: str, settings: dict) -> None:
        """Overlay `settings` on a filter's current settings."""
        self.request(
            "SetSourceFilterSettings",
            {"sourceName": source, "filterName": name, "filterSettings": settings},
        )

    def screenshot(self, source: str, width: int | None = None, height: int | None = None):
        """The filtered source as an RGBA uint8 array (GetSourceScreenshot, PNG)."""
        import cv2
        import numpy as np

        data: dict[str, Any] = {"sourceName": source, "imageFormat": "png"}
        if width:
            data.update(imageWidth=width, imageHeight=height)
        reply = self.request("GetSourceScreenshot", data)
        b64 = reply["imageData"].split(",", 1)[1]
        png = np.frombuffer(base64.b64decode(b64), np.uint8)
        image = cv2.imdecode(png, cv2.IMREAD_UNCHANGED)
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGRA)
        if image.shape[2] == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)

    def record(self, seconds: float) -> Path:
        """Record for `seconds` and return the finished file."""
        self.request("StartRecord")
        time.sleep(seconds)
        reply = self.request("StopRecord")
        path = Path(reply.get("outputPath") or "")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status = self.request("GetRecordStatus")
            if not status.get("outputActive") and path.is_file():
                break
            time.sleep(0.2)
        if not path.is_file():
            found = sorted(self.record_dir.glob("*"))
            assert found, "OBS produced no recording"
            path = found[-1]
        return path
