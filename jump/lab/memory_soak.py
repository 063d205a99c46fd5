"""Where a long stream's memory goes, without OBS: ``python -m jump.lab.memory_soak``.

Drives a ``MatteWorker`` (the filter's worker thread, either path) with real frames and a
``Denoiser`` on its own thread with real speech + noise, both faster than real time, and
samples this process's resident memory (RSS, anonymous, from /proc/self/status) every
``--every`` seconds. Growth is counted from the first sample, taken after ``--warmup``
seconds, as the OBS soak (``python -m jump bench soak``) counts it.

Suspects are switched one at a time:

- ``--no-arena``: ONNX Runtime's CPU memory arena off (``enable_cpu_mem_arena``);
- ``--no-mem-pattern``: ONNX Runtime's memory pattern off (``enable_mem_pattern``);
- ``MALLOC_ARENA_MAX=2`` in the environment: glibc's per-thread malloc arenas capped
  (glibc reads it at start, so set it on the command line);
- ``--cv-threads 0``: OpenCV's own thread pool off (its per-thread buffers);
- ``--model``: a fixed model instead of Auto's (Auto rebuilding sessions as it steps);
- ``--no-audio`` / ``--no-video``: one side alone.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"


def memory_mb() -> dict[str, float]:
    """VmRSS, RssAnon and RssFile of this process, in MB."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key = line.split(":", 1)[0]
        if key in ("VmRSS", "RssAnon", "RssFile"):
            out[key] = int(line.split()[1]) / 1024
    return out


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost",
        )
    ]  # fmt: skip


def malloc_mb() -> dict[str, float]:
    """glibc's own account (mallinfo2, all arenas): heap in use, heap free (held by malloc
    but not used: fragmentation or not yet trimmed) and mmapped chunks, in MB. Growth of
    RssAnon that none of these shows is memory malloc never saw (a library's own mmap)."""
    libc = ctypes.CDLL(None)
    try:
        fn = libc.mallinfo2
    except AttributeError:  # glibc < 2.33, or not glibc
        return {"used": 0.0, "free": 0.0, "mmap": 0.0}
    fn.restype = _Mallinfo2
    m = fn()
    return {"used": m.uordblks / 2**20, "free": m.fordblks / 2**20, "mmap": m.hblkhd / 2**20}


def patch_ort(arena: bool, mem_pattern: bool) -> None:
    """Every session Jump creates from here on gets these two options."""
    from jump import sessions

    ort = sessions.import_ort()
    original = ort.InferenceSession

    def session(*args, **kwargs):
        opts = kwargs.get("sess_options")
        if opts is not None:
            opts.enable_cpu_mem_arena = arena
            opts.enable_mem_pattern = mem_pattern
        return original(*args, **kwargs)

    ort.InferenceSession = session


def frames(size: tuple[int, int], count: int = 8) -> list[np.ndarray]:
    """Real portraits over real backgrounds, BGRA at the work size, a little shifted each."""
    import cv2

    fgs = sorted((DATA / "matte" / "foregrounds").glob("*.png"))
    bgs = sorted((DATA / "matte" / "backgrounds").glob("*.*"))
    out = []
    for i in range(count):
        fg = cv2.imread(str(fgs[i % len(fgs)]), cv2.IMREAD_UNCHANGED)
        bg = cv2.imread(str(bgs[i % len(bgs)]), cv2.IMREAD_COLOR)
        fg = cv2.resize(fg, size, interpolation=cv2.INTER_AREA)
        bg = cv2.resize(bg, size, interpolation=cv2.INTER_AREA)
        if fg.shape[2] == 4:
            a = fg[..., 3:4].astype(np.float32) / 255
            rgb = fg[..., :3] * a + bg * (1 - a)
        else:
            rgb = fg
        img = np.roll(rgb.astype(np.uint8), i * 7, axis=1)
        out.append(cv2.cvtColor(img, cv2.COLOR_BGR2BGRA))
    return out


def audio(seconds: float = 20.0) -> np.ndarray:
    """Speech plus noise at 48 kHz mono, float32."""
    import soundfile as sf
    from scipy.signal import resample_poly

    def load(path: Path) -> np.ndarray:
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
        x = x.mean(axis=1)
        return resample_poly(x, 48000, sr).astype(np.float32) if sr != 48000 else x

    speech = np.concatenate([load(p) for p in sorted((DATA / "audio" / "speech").glob("*.wav"))])
    noise = load(sorted((DATA / "audio" / "noise").glob("*.wav"))[0])
    n = int(seconds * 48000)
    speech = np.resize(speech, n)
    noise = np.resize(noise, n)
    return (0.5 * speech + 0.1 * noise).astype(np.float32)


def audio_loop(stop: threading.Event, counts: dict, errors: list, speed: float) -> None:
    """OBS's audio thread: 1024-sample stereo packets into a Denoiser, ``speed`` × real time
    (flat out it would hold the GIL and starve the matte worker)."""
    from jump.denoise.engine import Denoiser
    from jump.denoise.settings import DenoiseSettings

    x = audio()
    den = Denoiser(48000, 2, DenoiseSettings(neural_model="auto"))
    pos = 0
    t0 = time.monotonic()
    while not stop.is_set():
        ahead = counts["samples_in"] / 48000 / speed - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)
        if pos + 1024 > x.size:
            pos = 0
        packet = np.stack([x[pos : pos + 1024]] * 2)
        try:
            y = den.push(packet)
            counts["samples_in"] += 1024
            counts["samples_out"] += y.shape[-1]
        except Exception as exc:  # counted, the soak goes on
            errors.append(repr(exc))
        pos += 1024


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m jump.lab.memory_soak", description=__doc__)
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--warmup", type=float, default=60.0, help="seconds before the first sample")
    p.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    p.add_argument("--path", choices=("engine", "device"), default="engine")
    p.add_argument("--model", default="auto", help="matte model (auto = the filter's)")
    p.add_argument("--size", default="640x360", help="the webcam's size")
    p.add_argument("--no-arena", action="store_true")
    p.add_argument("--no-mem-pattern", action="store_true")
    p.add_argument("--cv-threads", type=int, default=-1, help="cv2.setNumThreads (-1: leave)")
    p.add_argument("--no-audio", action="store_true")
    p.add_argument("--no-video", action="store_true")
    p.add_argument("--audio-speed", type=float, default=2.0, help="× real time")
    args = p.parse_args(argv)

    from jump.matte.auto import PATH_ENV

    os.environ[PATH_ENV] = args.path
    if args.cv_threads >= 0:
        import cv2

        cv2.setNumThreads(args.cv_threads)
    if args.no_arena or args.no_mem_pattern:
        patch_ort(not args.no_arena, not args.no_mem_pattern)

    from jump.matte.settings import MatteSettings
    from jump.matte.worker import MatteWorker

    w, h = (int(v) for v in args.size.split("x"))
    print(
        f"memory soak: {args.minutes:g} min, path {args.path}, model {args.model}, "
        f"arena {not args.no_arena}, mem pattern {not args.no_mem_pattern}, "
        f"MALLOC_ARENA_MAX={os.environ.get('MALLOC_ARENA_MAX', '-')}, "
        f"cv threads {args.cv_threads}, audio {not args.no_audio}, video {not args.no_video}",
        flush=True,
    )
    stop = threading.Event()
    counts = {"samples_in": 0, "samples_out": 0}
    errors: list[str] = []
    audio_thread = None
    if not args.no_audio:
        audio_thread = threading.Thread(
            target=audio_loop, args=(stop, counts, errors, args.audio_speed), daemon=True
        )
        audio_thread.start()
    worker = None
    pictures: list[np.ndarray] = []
    if not args.no_video:
        worker = MatteWorker(MatteSettings(model=args.model))
        worker.set_fps(30.0)
        worker.wait_ready(120)
        if worker.error:
            print("worker error:", worker.error)
            return 1
        pictures = frames(worker.work_size(w, h))

    start = time.monotonic()
    end = start + args.minutes * 60
    next_sample = start + args.warmup
    first: dict | None = None
    frame_id = 0
    print(
        "| s | masks | model | RSS MB | growth | anon | file | malloc used | malloc free | "
        "malloc mmap | samples in−out | errors |"
    )
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    while True:
        if worker is not None:
            worker.submit(pictures[frame_id % len(pictures)], frame_id)
            # faster than real time: the next frame as soon as this one's mask is out
            while (r := worker.newest()) is None or r[1] < frame_id:
                time.sleep(0.001)
            frame_id += 1
        else:
            time.sleep(0.05)
        now = time.monotonic()
        if now >= next_sample:
            mem = {**memory_mb(), **malloc_mb()}
            first = first or {**mem, "masks": frame_id}
            print(
                f"| {now - start:5.0f} | {frame_id - first['masks']:6d} | "
                f"{worker.running if worker else '-'} | {mem['VmRSS']:7.1f} | "
                f"{mem['VmRSS'] - first['VmRSS']:+6.1f} | {mem['RssAnon'] - first['RssAnon']:+6.1f} | "
                f"{mem['RssFile'] - first['RssFile']:+5.1f} | "
                f"{mem['used'] - first['used']:+6.1f} | {mem['free'] - first['free']:+6.1f} | "
                f"{mem['mmap'] - first['mmap']:+6.1f} | "
                f"{counts['samples_in'] - counts['samples_out']:4d} | {len(errors)} |",
                flush=True,
            )
            next_sample += args.every
            if now >= end:
                break
    stop.set()
    if worker is not None:
        worker.close()
    if audio_thread is not None:
        audio_thread.join(5)
    last = memory_mb()
    assert first is not None
    print(
        f"growth after the first sample: {last['VmRSS'] - first['VmRSS']:+.1f} MB "
        f"(anon {last['RssAnon'] - first['RssAnon']:+.1f}); masks {frame_id}; "
        f"samples in {counts['samples_in']} out {counts['samples_out']}; errors {len(errors)}"
    )
    for e in errors[:5]:
        print("  ", e)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
