"""Jump Matte in libobs, without the OBS application: what it costs OBS's render loop.

    python -m jump.lab.libobs_render --xvfb --canvas 640x360 --fps 30 --seconds 5 --out out/

This process loads libobs through Jump's own ctypes binding (`jump.obs.host`), starts it
with its OpenGL renderer (EGL on an X display: `--xvfb` starts one), loads two plugins
(image-source, obs-ffmpeg), registers Jump Matte directly and renders one scene at the
chosen canvas: a "game" picture under a looping webcam clip (a real portrait over a real
room that pans behind it, so the true alpha is known) with Jump Matte on the clip. No Qt,
no OBS-embedded Python: the machine's own Python runs it, so it goes where OBS cannot
(a GPU machine, `scripts/gpu/obs_run.sh`).

It renders `--seconds` without Jump Matte, then `--seconds` with it (after its model has
loaded and `--settle` seconds more), and prints, from the same run:
- frames rendered and renders skipped (libobs's lagged frames) without and with Jump,
- the graphics thread's time per frame (libobs's average) without and with Jump, and the
  filter's own render-thread time (its `stats()`, as the e2e tests read it),
- masks per second delivered, and what the model setting ran (Auto's choices over time,
  and whether the last one held through the measurement),
- a screenshot of the composited output (PNG) and how well it matches the known cut-out:
  IoU of where the game does not show against the true alpha, and the mean error where
  the game must show through and where the person must.
`--json` writes all of it. Timings taken on a loaded machine mean little; quality does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from jump.lab.paths import BUNDLED_DATA

DEBIAN_PLUGINS = Path("/usr/lib/x86_64-linux-gnu/obs-plugins")
DEBIAN_PLUGIN_DATA = Path("/usr/share/obs/obs-plugins")
PLUGINS = ("image-source", "obs-ffmpeg")
GAME = "car-2.jpg"
ROOM = "plants-1.jpg"
PERSON = "person-2.png"


# --- the scene's media ---------------------------------------------------------------------
class Media:
    """The game picture and the webcam clip, with the clip's true alpha (a still person over
    a room that pans behind it: the picture changes every frame, the alpha never)."""

    def __init__(self, data: Path, canvas: tuple[int, int], fps: int, seconds: float) -> None:
        import cv2

        w, h = canvas
        self.canvas, self.fps = canvas, fps
        self.frames = max(2, round(seconds * fps))
        game = cv2.imread(str(data / "backgrounds" / GAME))
        self.game = cv2.resize(game, canvas, interpolation=cv2.INTER_AREA)  # BGR
        self.pan = w // 6
        room = cv2.imread(str(data / "backgrounds" / ROOM))
        self.room = cv2.resize(room, (w + self.pan, h), interpolation=cv2.INTER_AREA)
        fg = cv2.imread(str(data / "foregrounds" / PERSON), cv2.IMREAD_UNCHANGED)
        ys, xs = np.nonzero(fg[:, :, 3])
        top = ys.min()
        fg = fg[top : top + int((ys.max() - top) * 0.6) + 1, xs.min() : xs.max() + 1]
        scale = min(0.8 * w / fg.shape[1], 0.9 * h / fg.shape[0])
        fw, fh = int(fg.shape[1] * scale), int(fg.shape[0] * scale)
        fg = cv2.resize(fg, (fw, fh), interpolation=cv2.INTER_AREA)
        x0, y0 = (w - fw) // 2, h - fh
        self.alpha = np.zeros((h, w), np.float32)
        self.alpha[y0:, x0 : x0 + fw] = fg[:, :, 3] / 255.0
        self.person = np.zeros((h, w, 3), np.float32)
        self.person[y0:, x0 : x0 + fw] = fg[:, :, :3]

    def frame(self, index: int) -> np.ndarray:
        w = self.canvas[0]
        phase = index / self.frames  # back and forth: no jump at the loop point
        x = round(self.pan * (1 - abs(2 * phase - 1)))
        room = self.room[:, x : x + w].astype(np.float32)
        a = self.alpha[..., None]
        return np.clip(a * self.person + (1 - a) * room + 0.5, 0, 255).astype(np.uint8)

    def write(self, folder: Path) -> tuple[Path, Path]:
        """(game PNG, webcam clip): Motion JPEG in AVI, which libavformat and libavcodec
        read with no external codec library and OpenCV writes on any machine."""
        import cv2

        game = folder / "game.png"
        cv2.imwrite(str(game), self.game)
        clip = folder / "webcam.avi"
        writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), self.fps, self.canvas)
        if not writer.isOpened():
            raise RuntimeError("OpenCV cannot write a Motion JPEG clip here")
        writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 95)
        for i in range(self.frames):
            writer.write(self.frame(i))
        writer.release()
        return game, clip

    def score(self, output_bgra: np.ndarray) -> dict[str, float]:
        """How the composited output matches the known cut-out (values in 0–255 levels)."""
        out = output_bgra[:, :, :3].astype(np.float32)
        game = self.game.astype(np.float32)
        shows_person = np.abs(out - game).sum(axis=2) > 40  # not the game there
        truth = self.alpha > 0.5
        union = (shows_person | truth).sum()
        background, person = self.alpha == 0, self.alpha >= 1
        return {
            "cutout_iou": float((shows_person & truth).sum() / max(1, union)),
            "game_error": float(np.abs(out - game)[background].mean()),
            "person_error": float(np.abs(out - self.person)[person].mean()),
        }


# --- the X display ------------------------------------------------------------------------
def start_xvfb(binary: str, canvas: tuple[int, int]) -> tuple[subprocess.Popen[bytes], str]:
    """Xvfb on a free display number; returns (process, ":N") once its socket is there."""
    for n in range(90, 300):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            break
    else:
        raise RuntimeError("no free X display number")
    screen = f"{max(canvas[0], 640)}x{max(canvas[1], 480)}x24"
    args = [binary, f":{n}", "-screen", "0", screen, "-nolisten", "tcp"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not Path(f"/tmp/.X11-unix/X{n}").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{binary} did not start on :{n}")
        time.sleep(0.1)
    return proc, f":{n}"


# --- the run -------------------------------------------------------------------------------
def _phase(seconds: float, sample: Any = None) -> dict[str, Any]:
    """Counters over `seconds`, sampling libobs's frame time (and `sample()`) each second."""
    from jump.obs import host

    start = host.counters()
    frame_ms, samples = [], []
    end_at = time.monotonic() + seconds
    while (left := end_at - time.monotonic()) > 0:
        time.sleep(min(1.0, left))
        frame_ms.append(host.counters().frame_time_ms)
        if sample is not None:
            samples.append(sample())
    end = host.counters()
    intervals, skipped = end.since(start)
    return {
        "seconds": seconds,
        "frames_rendered": intervals - skipped,
        "renders_skipped": skipped,
        "skipped_pct": 100.0 * skipped / max(1, intervals),
        "obs_frame_ms": float(np.mean(frame_ms)) if frame_ms else 0.0,
        "fps": end.fps,
        "samples": samples,
    }


def _filter_sample(started: float) -> dict[str, Any]:
    from jump.obs.instances import instances

    live = instances("jump_matte")
    stats = live[0].stats() if live else {}
    return {"t": round(time.monotonic() - started, 1), **stats}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from jump.filters import matte
    from jump.obs import host
    from jump.obs import log as obs_log
    from jump.obs.registry import register_filter

    work = Path(tempfile.mkdtemp(prefix="jump-libobs-"))
    canvas = args.canvas
    media = Media(args.data, canvas, args.fps, args.clip_seconds)
    game_png, clip = media.write(work)
    log_path = args.out / "libobs.log"
    host.capture_log(log_path)
    host.startup(canvas, args.fps, work / "config", args.graphics_module)
    obs_log.install()
    register_filter(matte.SPEC)
    for name in PLUGINS:
        host.load_module(args.plugins / f"{name}.so", args.plugin_data / name)
    host.post_load()

    game = host.create_source("image_source", "Game", {"file": str(game_png)})
    cam = host.create_source(
        "ffmpeg_source",
        "Cam",
        {"local_file": str(clip), "is_local_file": True, "looping": True, "hw_decode": False},
    )
    scene = host.create_scene("Scene", [game, cam])
    host.set_output(scene)
    result: dict[str, Any] = {"canvas": list(canvas), "fps": args.fps}
    jump_filter = None
    try:
        deadline = time.monotonic() + 30
        while cam.size() != canvas and time.monotonic() < deadline:
            time.sleep(0.1)
        result["clip_size"] = list(cam.size())
        time.sleep(args.warmup)
        result["without_jump"] = _phase(args.seconds)

        settings = {"model": args.model, "provider": args.provider, **args.settings}
        jump_filter = host.create_source("jump_matte", "Jump Matte", settings)
        host.add_filter(cam, jump_filter)
        started = time.monotonic()
        timeline = []
        while time.monotonic() - started < args.load_timeout:
            timeline.append(_filter_sample(started))
            if timeline[-1].get("masks", 0) > 0:
                break
            time.sleep(0.5)
        result["first_mask_s"] = timeline[-1]["t"] if timeline[-1].get("masks") else None
        settle_end = time.monotonic() + args.settle
        while time.monotonic() < settle_end:
            time.sleep(1.0)
            timeline.append(_filter_sample(started))
        with_jump = _phase(args.seconds, lambda: _filter_sample(started))
        result["with_jump"] = with_jump
        result.update(_filter_summary(timeline, with_jump))

        grab = host.OutputGrab(canvas)
        frame = grab.grab()
        if frame is not None:
            bgra = np.frombuffer(frame, np.uint8).reshape(canvas[1], canvas[0], 4)
            result["screenshot"] = str(args.out / "screenshot.png")
            _write_png(args.out / "screenshot.png", bgra)
            result["cutout"] = media.score(bgra)
    finally:
        host.set_output(None)
        for handle in (jump_filter, cam, game, scene):
            if handle is not None:
                handle.release()
        host.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    result["renderer"] = host.log_lines(log_path, "OpenGL")[:3]  # which GPU drew
    result["log"] = host.log_lines(log_path, "[jump]")
    result["log_errors"] = host.log_lines(log_path, "error:")
    return result


def _filter_summary(timeline: list[dict], phase: dict[str, Any]) -> dict[str, Any]:
    samples = phase["samples"]
    if not samples or "masks" not in samples[0]:
        return {"jump": None}
    masks = samples[-1]["masks"] - samples[0]["masks"]
    span = max(1e-6, samples[-1]["t"] - samples[0]["t"])
    choices: list[dict[str, Any]] = []
    for s in timeline + samples:
        if s.get("running") and (not choices or choices[-1]["running"] != s["running"]):
            choices.append({"t": s["t"], "running": s["running"]})
    ran = {s["running"] for s in samples}
    return {
        "jump": {
            "render_ms": float(np.mean([s["render_ms"] for s in samples])),
            "masks_per_s": masks / span,
            "mask_lag_frames": samples[-1]["mask_lag_frames"],
            "inference_ms": samples[-1]["inference_ms"],
            "end_to_end_ms": samples[-1]["end_to_end_ms"],
            "running": samples[-1]["running"],
            "held": len(ran) == 1,  # one choice through the whole measurement
            "choices": choices,
        }
    }


def _write_png(path: Path, bgra: np.ndarray) -> None:
    import cv2

    cv2.imwrite(str(path), bgra[:, :, :3])  # the program output is opaque


def report(result: dict[str, Any]) -> str:
    a, b = result["without_jump"], result.get("with_jump")
    w, h = result["canvas"]
    lines = [f"libobs {w}x{h} at {result['fps']} fps, {a['seconds']:g} s per phase"]
    lines += [f"  {line}" for line in result.get("renderer", [])]
    for name, p in (("without Jump", a), ("with Jump Matte", b)):
        if p:
            lines.append(
                f"  {name:<16} frames rendered {p['frames_rendered']:5d}  renders skipped "
                f"{p['renders_skipped']:4d} ({p['skipped_pct']:.1f} %)  OBS frame "
                f"{p['obs_frame_ms']:.2f} ms"
            )
    j = result.get("jump")
    if j:
        added = b["obs_frame_ms"] - a["obs_frame_ms"]
        lines += [
            f"  render-thread time Jump Matte adds: {j['render_ms']:.2f} ms (the filter's own), "
            f"{added:+.2f} ms (OBS's frame time)",
            f"  masks/s {j['masks_per_s']:.1f}, mask lag {j['mask_lag_frames']} frames, "
            f"inference {j['inference_ms']:.1f} ms, submit to mask {j['end_to_end_ms']:.1f} ms",
            f"  model: {j['running']} ({'held' if j['held'] else 'changed'} through the "
            f"measurement); choices: "
            + ", ".join(f"{c['running']} at {c['t']:g} s" for c in j["choices"]),
        ]
    else:
        lines.append("  Jump Matte produced no statistics (see the log)")
    if "cutout" in result:
        c = result["cutout"]
        lines.append(
            f"  screenshot {result['screenshot']}: cut-out IoU {c['cutout_iou']:.3f}, "
            f"error where the game shows {c['game_error']:.1f}, on the person "
            f"{c['person_error']:.1f} (of 255)"
        )
    lines += [f"  log: {line}" for line in result["log"][-8:] + result["log_errors"][-8:]]
    return "\n".join(lines)


def _tail(path: Path, n: int = 25) -> list[str]:
    return path.read_text(errors="replace").splitlines()[-n:] if path.is_file() else []


def _size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    return int(w), int(h)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m jump.lab.libobs_render", description=__doc__)
    p.add_argument("--canvas", type=_size, default=(640, 360), help="WxH (default 640x360)")
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--seconds", type=float, default=5.0, help="measuring time per phase")
    p.add_argument("--warmup", type=float, default=2.0, help="before the first phase")
    p.add_argument("--settle", type=float, default=3.0, help="after the first mask")
    p.add_argument("--load-timeout", type=float, default=60.0, help="for the first mask")
    p.add_argument("--model", default="auto")
    p.add_argument("--provider", default="auto")
    p.add_argument("--settings", type=json.loads, default={}, help="more filter settings, JSON")
    p.add_argument("--clip-seconds", type=float, default=2.0)
    p.add_argument("--data", type=Path, default=BUNDLED_DATA / "matte")
    p.add_argument("--plugins", type=Path, default=DEBIAN_PLUGINS)
    p.add_argument("--plugin-data", type=Path, default=DEBIAN_PLUGIN_DATA)
    p.add_argument("--graphics-module", default="libobs-opengl.so.1")
    p.add_argument("--xvfb", nargs="?", const="Xvfb", default=None, help="start this X server")
    p.add_argument("--out", type=Path, default=Path("out/libobs"))
    p.add_argument("--json", type=Path, default=None, help="write the results here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    xvfb = None
    if args.xvfb:
        xvfb, display = start_xvfb(shutil.which(args.xvfb) or args.xvfb, args.canvas)
        os.environ["DISPLAY"] = display
    try:
        result = run(args)
    except Exception:
        print("libobs log, last lines:", *_tail(args.out / "libobs.log"), sep="\n  ")
        raise
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(timeout=10)
    print(report(result), flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0 if result.get("jump") else 1


if __name__ == "__main__":
    sys.exit(main())
