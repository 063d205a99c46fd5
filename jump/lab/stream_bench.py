"""`python -m jump bench stream`: what Jump costs OBS while it streams.

The streamer's scene of the stream e2e test (a barcoded game, a webcam with Jump Matte
and Jump Denoise on its noisy mic) streams to a local RTMP receiver with Twitch-like
settings, at each canvas in turn. In one OBS run per canvas, the two Jump filters are
switched off and on in alternating phases (off, on, off, on), so both conditions share the
machine's load: OBS's CPU (cores), its average render time, render-skipped and
output-skipped frames and congestion, with and without Jump. Needs the repository
checkout (the e2e harness), obs-studio, Xvfb and ffmpeg.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

CANVASES = {"360p": (640, 360), "720p": (1280, 720)}
FILTERS = ("Jump Matte", "Jump Denoise")


def register(bench_sub: argparse._SubParsersAction) -> None:
    p = bench_sub.add_parser("stream", help="Jump's cost in OBS while streaming, with/without")
    p.add_argument("--seconds", type=float, default=20.0, help="measuring time per phase")
    p.add_argument("--rounds", type=int, default=2, help="off/on pairs per canvas")
    p.add_argument("--canvas", choices=sorted(CANVASES), nargs="*", default=sorted(CANVASES))
    p.set_defaults(func=run)


def _set_jump(obs, enabled: bool) -> None:
    for name in FILTERS:
        obs.request(
            "SetSourceFilterEnabled",
            {"sourceName": "Webcam", "filterName": name, "filterEnabled": enabled},
        )


def _counters(obs) -> dict[str, float]:
    from tests.helpers.stream_session import cpu_seconds

    stats, stream = obs.request("GetStats"), obs.request("GetStreamStatus")
    return {
        "cpu": cpu_seconds(obs.obs.pid),
        "wall": time.monotonic(),
        "render_skipped": stats["renderSkippedFrames"],
        "render_total": stats["renderTotalFrames"],
        "output_skipped": stream["outputSkippedFrames"],
        "output_total": stream["outputTotalFrames"],
    }


def _phase(obs, seconds: float) -> dict[str, float]:
    """One measuring phase: deltas of OBS's counters, render time and congestion per second."""
    start, render_ms, congestion = _counters(obs), [], []
    for _ in range(round(seconds)):
        time.sleep(1.0)
        render_ms.append(obs.request("GetStats")["averageFrameRenderTime"])
        congestion.append(obs.request("GetStreamStatus")["outputCongestion"])
    end = _counters(obs)
    d = {k: end[k] - start[k] for k in start}
    return {
        "cpu_cores": d["cpu"] / d["wall"],
        "render_ms": sum(render_ms) / len(render_ms),
        "render_skipped": d["render_skipped"],
        "render_total": d["render_total"],
        "output_skipped": d["output_skipped"],
        "output_total": d["output_total"],
        "congestion": max(congestion),
    }


def _sum(phases: list[dict[str, float]]) -> dict[str, float]:
    n = len(phases)
    total = {k: sum(p[k] for p in phases) for k in phases[0]}
    total.update(
        cpu_cores=total["cpu_cores"] / n,
        render_ms=total["render_ms"] / n,
        congestion=max(p["congestion"] for p in phases),
    )
    return total


def measure(canvas: tuple[int, int], seconds: float, rounds: int) -> dict[bool, dict]:
    """{jump on?: summed phases} for one canvas, in one OBS run."""
    from tests.helpers.stream_session import streaming

    folder = Path(tempfile.mkdtemp(prefix="jump-bench-stream-"))
    phases: dict[bool, list[dict]] = {False: [], True: []}
    try:
        null_output = ["-c", "copy", "-f", "null", "-"]
        with streaming(folder, canvas, folder / "recv.flv", output=null_output) as (obs, _, _):
            time.sleep(5.0)  # the worker's model and the noise tracker load
            for _ in range(rounds):
                for enabled in (False, True):
                    _set_jump(obs, enabled)
                    time.sleep(3.0)  # the worker catches up / winds down
                    phases[enabled].append(_phase(obs, seconds))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {enabled: _sum(p) for enabled, p in phases.items()}


def run(args: argparse.Namespace) -> int:
    print(
        "| canvas | Jump | OBS CPU (cores) | avg render ms | render skipped | "
        "output skipped | max congestion |\n|---|---|---:|---:|---:|---:|---:|"
    )
    for name in args.canvas:
        canvas = CANVASES[name]
        result = measure(canvas, args.seconds, args.rounds)
        for enabled in (False, True):
            r = result[enabled]
            print(
                f"| {canvas[0]}×{canvas[1]} | {'on' if enabled else 'off'} | "
                f"{r['cpu_cores']:.2f} | {r['render_ms']:.1f} | "
                f"{r['render_skipped']:.0f}/{r['render_total']:.0f} "
                f"({100 * r['render_skipped'] / max(1, r['render_total']):.1f} %) | "
                f"{r['output_skipped']:.0f}/{r['output_total']:.0f} "
                f"({100 * r['output_skipped'] / max(1, r['output_total']):.1f} %) | "
                f"{r['congestion']:.2f} |",
                flush=True,
            )
    return 0
