"""`python -m jump bench soak` (`scripts/soak MINUTES`): stream for minutes with both filters.

The streamer's scene of the stream e2e test (a barcoded game, a webcam with Jump Matte
and Jump Denoise on its noisy mic) streams at 640×360 to a local RTMP receiver. Every
minute: OBS's memory (RSS), CPU, render time and skipped frames, the stream's skipped
frames and congestion, and Jump's own counters. At the end: audio samples in == out in
Jump Denoise, the received file's frames and audio, and any Jump error line in the log.
Needs the repository checkout (the e2e harness), obs-studio, Xvfb and ffmpeg.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

CANVAS = (640, 360)
MEMORY_GROWTH_LIMIT_MB = 10.0  # issue 18: ≤ 10 MB after the first minute (was 20)


def register(bench_sub: argparse._SubParsersAction) -> None:
    p = bench_sub.add_parser(
        "soak", help="stream for MINUTES with both filters, sample each minute"
    )
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--interval", type=float, default=60.0, help="seconds between samples")
    p.add_argument("--warmup", type=float, default=60.0, help="seconds before the first sample")
    p.add_argument("--json", type=Path, help="also write every sample here (JSON lines)")
    p.add_argument("--keep", action="store_true", help="keep the temp folder (received file)")
    p.add_argument(
        "--without-jump", action="store_true", help="the same scene without Jump's filters"
    )
    p.add_argument(
        "--matte-path",
        choices=("default", "device", "engine"),
        default="default",
        help="force Jump Matte's path (JUMP_MATTE_PATH): device = the graph path, also on the CPU",
    )
    p.add_argument(
        "--env", action="append", default=[], metavar="K=V", help="add to OBS's environment"
    )
    p.set_defaults(func=run)


def _read_stats(stats_file: Path, kind: str) -> dict:
    """The filter's latest stats; the test hooks rewrite the file every second, so a read
    can meet it half written: try again."""
    from tests.helpers.obs_harness import read_stats

    for _ in range(20):
        try:
            return read_stats(stats_file, kind)
        except (StopIteration, ValueError, OSError):
            time.sleep(0.1)
    return read_stats(stats_file, kind)


NO_FILTER = {"frames_in": 0, "frames_out": 0, "masks": 0, "mask_lag_frames": 0, "render_ms": 0}


def _python(stats_file: Path) -> dict:
    """Python's allocated blocks and glibc's heap (MB in use, free, mmapped) inside OBS."""
    row = _read_stats(stats_file, "python")
    keys = ("malloc_used", "malloc_free", "malloc_mmap")
    return {"py_blocks": row["blocks"], **{k: float(row.get(k, 0.0)) for k in keys}}


def _sample(obs, stats_file: Path, start: float, cpu0: float, with_jump: bool) -> dict:
    from tests.helpers.stream_session import cpu_seconds, rss_mb

    stats = obs.request("GetStats")
    stream = obs.request("GetStreamStatus")
    denoise = _read_stats(stats_file, "jump_denoise") if with_jump else NO_FILTER
    matte = _read_stats(stats_file, "jump_matte") if with_jump else NO_FILTER
    elapsed = time.monotonic() - start
    return {
        "minute": elapsed / 60,
        "rss_mb": rss_mb(obs.obs.pid),
        "anon_mb": rss_mb(obs.obs.pid, "RssAnon"),
        "file_mb": rss_mb(obs.obs.pid, "RssFile"),
        **_python(stats_file),
        "cpu_cores": (cpu_seconds(obs.obs.pid) - cpu0) / elapsed,
        "render_ms": stats["averageFrameRenderTime"],
        "render_skipped": stats["renderSkippedFrames"],
        "render_total": stats["renderTotalFrames"],
        "output_skipped": stream["outputSkippedFrames"],
        "output_total": stream["outputTotalFrames"],
        "congestion": stream["outputCongestion"],
        "samples_in": denoise["frames_in"],
        "samples_out": denoise["frames_out"],
        "masks": matte["masks"],
        "mask_lag": matte["mask_lag_frames"],
        "matte_render_ms": matte["render_ms"],
    }


def _row(s: dict, first: dict) -> str:
    return (
        f"| {s['minute']:5.1f} | {s['rss_mb']:7.1f} | {s['rss_mb'] - first['rss_mb']:+6.1f} | "
        f"{s['anon_mb'] - first['anon_mb']:+6.1f} | {s['file_mb'] - first['file_mb']:+5.1f} | "
        f"{s['py_blocks'] - first['py_blocks']:+7d} | "
        f"{s['malloc_used'] - first['malloc_used']:+6.1f} | "
        f"{s['malloc_free'] - first['malloc_free']:+6.1f} | "
        f"{s['malloc_mmap'] - first['malloc_mmap']:+6.1f} | "
        f"{s['cpu_cores']:5.2f} | {s['render_ms']:6.1f} | "
        f"{s['render_skipped'] - first['render_skipped']:6d} | "
        f"{s['output_skipped'] - first['output_skipped']:6d} / "
        f"{s['output_total'] - first['output_total']:6d} | {s['congestion']:4.2f} | "
        f"{s['samples_in'] - s['samples_out']:4d} | {s['masks'] - first['masks']:6d} | "
        f"{s['mask_lag']:3d} |"
    )


HEADER = (
    "| minute | OBS RSS MB | growth | heap (anon) | files | Python blocks | "
    "malloc used | malloc free | malloc mmap | CPU cores | "
    "render ms | render skipped | output skipped / frames | congestion | samples in−out | "
    "masks | mask lag |\n"
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def run(args: argparse.Namespace) -> int:
    from tests.helpers.stream_session import (
        cpu_seconds,
        jump_errors,
        lagged_frames,
        received_packets,
        streaming,
    )

    folder = Path(tempfile.mkdtemp(prefix="jump-soak-"))
    received = folder / "recv.flv"
    samples: list[dict] = []
    out = open(args.json, "w") if args.json else None  # noqa: SIM115 (closed below)
    from jump.matte.auto import PATH_ENV

    env = dict(kv.split("=", 1) for kv in args.env)
    if args.matte_path != "default":
        env[PATH_ENV] = args.matte_path
    print(
        f"soak: {args.minutes:g} min at {CANVAS[0]}x{CANVAS[1]}, env {env}, folder {folder}",
        flush=True,
    )
    try:
        with_jump = not args.without_jump
        with streaming(folder, CANVAS, received, with_jump, env=env) as (
            obs,
            _receiver,
            stats_file,
        ):
            start, cpu0 = time.monotonic(), cpu_seconds(obs.obs.pid)
            end = start + args.minutes * 60
            # the first sample, the base for memory growth, once the models, ONNX Runtime's
            # arenas and OBS's buffers have settled
            time.sleep(min(args.warmup, args.minutes * 60))
            print(HEADER, flush=True)
            while True:
                samples.append(_sample(obs, stats_file, start, cpu0, with_jump))
                if out:
                    out.write(json.dumps(samples[-1]) + "\n")
                    out.flush()
                print(_row(samples[-1], samples[0]), flush=True)
                if time.monotonic() >= end or not obs.alive():
                    break
                time.sleep(max(0.0, min(args.interval, end - time.monotonic())))
            streamed = time.monotonic() - start
        log = obs.log_text()
        packets = received_packets(received)
    finally:
        if out:
            out.close()
    first, last = samples[0], samples[-1]
    growth = last["rss_mb"] - first["rss_mb"]
    lost = last["samples_in"] - last["samples_out"]
    errors = jump_errors(log)
    expected_frames = streamed * 30
    print()
    print(f"streamed {streamed / 60:.1f} min; received {packets.get('video', 0)} video frames")
    print(f"  (expected ≈ {expected_frames:.0f}), {packets.get('audio', 0)} AAC frames")
    print(f"  ({packets.get('audio', 0) * 1024 / 48000:.1f} s of audio)")
    print(f"OBS lagged frames (log): {lagged_frames(log)}")
    print(
        f"memory growth after the first sample: {growth:+.1f} MB (limit {MEMORY_GROWTH_LIMIT_MB})"
    )
    print(f"Jump Denoise samples in {last['samples_in']}, out {last['samples_out']}: lost {lost}")
    print(f"Jump error lines: {len(errors)}")
    for line in errors[:20]:
        print("  " + line)
    ok = growth <= MEMORY_GROWTH_LIMIT_MB and lost == 0 and not errors and obs is not None
    print("PASS" if ok else "FAIL")
    if args.keep:
        print(f"kept {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    sys.stdout.flush()
    return 0 if ok else 1
