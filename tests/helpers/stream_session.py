"""A streamer's scene in a headless OBS, streamed over RTMP to a local ffmpeg receiver.

Shared by the stream e2e test, `python -m jump bench stream`, the soak and the screenshot
script: the scene ("Game" media source, "Webcam" above it scaled into a corner, with
Jump Matte and Jump Denoise), Twitch-like encoder settings, the receiver, and starting
and stopping the stream over obs-websocket.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.helpers.obs_harness import REPO, _free_port, jump_filter, scene_collection

JUMP = REPO / "jump_obs.py"
HOOKS = REPO / "tests" / "helpers" / "obs_scripts" / "jump_test_hooks.py"
# Twitch's ingest rules: CBR, a keyframe every 2 s; 2500 kb/s suits 360p-720p30.
TWITCH_ENCODER = {"rate_control": "CBR", "bitrate": 2500, "keyint_sec": 2, "preset": "veryfast"}
WEBCAM_SCALE = 0.5  # the webcam's share of the canvas width, in the bottom-right corner
STREAM_KEY = "jump"
PACKET_COUNTS = ("-show_entries", "stream=codec_type,nb_read_packets")


VIDEO_DELAY_MS = 100  # Jump Matte's "delay video" (its default time): 3 frames at 30 fps


def jump_filters(delay_ms: int = VIDEO_DELAY_MS) -> list[dict[str, Any]]:
    matte = {"delay_video": delay_ms > 0, "delay_ms": delay_ms}
    return [
        jump_filter("jump_matte", "Jump Matte", matte),
        jump_filter("jump_denoise", "Jump Denoise"),
    ]


def looping_media(
    name: str, path: Path, filters: list[dict] | None = None, sync_offset_ms: int = 0
) -> dict[str, Any]:
    return {
        "id": "ffmpeg_source",
        "name": name,
        "settings": {"local_file": str(path), "is_local_file": True, "looping": True},
        "filters": filters or [],
        "sync": sync_offset_ms * 1_000_000,  # the audio Sync Offset
    }


def streamer_scene(
    game: Path,
    webcam: Path,
    with_jump: bool = True,
    hooks: bool = True,
    delay_ms: int = VIDEO_DELAY_MS,
    sync_offset_ms: int = 0,
) -> dict:
    """Game at the bottom, the webcam (its own mic's audio in the clip) on top. Jump
    Denoise delays the webcam's audio by Jump Matte's video delay itself (the source's
    Sync Offset would move its picture too)."""
    scripts = [JUMP, HOOKS] if hooks else [JUMP]
    filters = jump_filters(delay_ms) if with_jump else []
    sources = [
        looping_media("Game", game),
        looping_media("Webcam", webcam, filters, sync_offset_ms),
    ]
    return scene_collection(sources, scripts)


def write_stream_encoder(home: Path, settings: dict | None = None) -> None:
    """The profile's streamEncoder.json (read by OBS at start; the harness writes the rest)."""
    profile = home / ".config" / "obs-studio" / "basic" / "profiles" / "Jump"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "streamEncoder.json").write_text(json.dumps(settings or TWITCH_ENCODER))


def place_webcam(obs, canvas: tuple[int, int], scale: float = WEBCAM_SCALE) -> tuple[int, int]:
    """Scale the webcam into the bottom-right corner; returns its top-left in the canvas."""
    item = obs.request("GetSceneItemId", {"sceneName": "Scene", "sourceName": "Webcam"})
    w, h = canvas
    x, y = round(w * (1 - scale)), round(h * (1 - scale))
    obs.request(
        "SetSceneItemTransform",
        {
            "sceneName": "Scene",
            "sceneItemId": item["sceneItemId"],
            "sceneItemTransform": {
                "positionX": x,
                "positionY": y,
                "scaleX": scale,
                "scaleY": scale,
            },
        },
    )
    return x, y


def restart_media(obs, *names: str) -> None:
    for name in names:
        obs.request(
            "TriggerMediaInputAction",
            {"inputName": name, "mediaAction": "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_RESTART"},
        )


def _listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port (ffmpeg takes exactly one connection,
    so readiness is read from the kernel's table, never by connecting)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as fh:
            for line in fh.readlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                    return True
    return False


class Receiver:
    """`ffmpeg -listen 1` recording one RTMP stream to an FLV file, stream copied."""

    def __init__(self, path: Path, output: list[str] | None = None):
        self.path = path
        self.port = _free_port()
        self.url = f"rtmp://127.0.0.1:{self.port}/live"
        self.output = output
        self.input = f"{self.url}/{STREAM_KEY}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = path.with_suffix(".log")

    def __enter__(self) -> Receiver:
        output = self.output or ["-c", "copy", str(self.path)]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    "ffmpeg",
                    "-nostdin",
                    "-y",
                    "-v",
                    "warning",
                    "-listen",
                    "1",
                    "-i",
                    self.input,
                    *output,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 15
        while not _listening(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"RTMP receiver did not listen: {self.log_path.read_text()}")
            time.sleep(0.1)
        return self

    def wait(self, timeout: float = 30.0) -> int | None:
        """Wait for ffmpeg to finish the file (it exits when OBS disconnects)."""
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.close()
            return None

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_stream(obs, receiver: Receiver, timeout: float = 15.0) -> dict[str, Any]:
    """Point OBS at the receiver and start; `StartStream` answers success even when
    nothing listens, so wait for `outputActive`."""
    obs.request(
        "SetStreamServiceSettings",
        {
            "streamServiceType": "rtmp_custom",
            "streamServiceSettings": {"server": receiver.url, "key": STREAM_KEY},
        },
    )
    obs.request("StartStream")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = obs.request("GetStreamStatus")
        if status.get("outputActive"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"stream not active after {timeout}s:\n{obs.log_text()[-4000:]}")


def stop_stream(obs, receiver: Receiver) -> dict[str, Any]:
    """Stop, and return the last GetStreamStatus taken while the stream was up."""
    status = obs.request("GetStreamStatus")
    obs.request("StopStream")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and obs.request("GetStreamStatus").get("outputActive"):
        time.sleep(0.2)
    receiver.wait()
    return status


def lagged_frames(log: str) -> int:
    """OBS's count of frames lagged by rendering, from its log ("number of lagged frames
    due to rendering lag/stalls: N (x%)"), written when the output stops."""
    total = 0
    for line in log.splitlines():
        if "lagged frames due to rendering lag/stalls" in line:
            total = max(total, int(line.split(":")[-1].split()[0]))
    return total


def build_clips(folder: Path, canvas: tuple[int, int]) -> tuple[Path, Path]:
    """The game (20 s, barcoded) and webcam (12 s, with its noisy mic) clips at `canvas`."""
    from tests.helpers import stream_media as sm

    folder.mkdir(parents=True, exist_ok=True)
    game = sm.Game(canvas, seconds=20.0).write(folder / f"game-{canvas[1]}p.mp4")
    webcam = sm.Webcam(canvas).write(folder / f"webcam-{canvas[1]}p.mkv")
    return game, webcam


@contextlib.contextmanager
def streaming(
    home: Path,
    canvas: tuple[int, int],
    received: Path,
    with_jump: bool = True,
    output: list[str] | None = None,
    env: dict[str, str] | None = None,
):
    """A streamer's scene in OBS, streaming to a local receiver until the block ends.

    Yields (obs, receiver, stats file); the block may read stats and the OBS log. The
    stream is stopped and the receiver finished before OBS quits. `output` replaces the
    receiver's output arguments (e.g. to discard the stream). `env` adds to OBS's
    environment (e.g. JUMP_MATTE_PATH, MALLOC_ARENA_MAX for a soak).
    """
    from tests.helpers.obs_harness import ObsProcess

    game, webcam = build_clips(home / "clips", canvas)
    stats_file = home / "stats.jsonl"
    write_stream_encoder(home / "home")
    obs = ObsProcess(
        home / "home",
        streamer_scene(game, webcam, with_jump),
        env={"JUMP_TEST_ACTIONS": "stats", "JUMP_TEST_STATS": str(stats_file), **(env or {})},
        canvas=canvas,
        preview=False,
    )
    with obs, Receiver(received, output) as receiver:
        place_webcam(obs, canvas)
        start_stream(obs, receiver)
        try:
            yield obs, receiver, stats_file
        finally:
            if obs.alive():
                stop_stream(obs, receiver)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory in MB: all (VmRSS), or RssAnon (heaps) / RssFile (mapped files)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def received_packets(path: Path) -> dict[str, int]:
    """Packets per stream type in a received file (video packets = frames)."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_packets", "-of", "json", *PACKET_COUNTS, str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    return {s["codec_type"]: int(s["nb_read_packets"]) for s in json.loads(out)["streams"]}


def jump_errors(log: str) -> list[str]:
    """Jump's error lines in an OBS log (a failed callback, a traceback, an error level)."""
    words = ("failed", "error", "traceback", "exception")
    return [
        line
        for line in log.splitlines()
        if "[jump" in line.lower() and any(w in line.lower() for w in words)
    ]
