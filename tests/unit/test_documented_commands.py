"""Every shell command in README.md and docs/*.md runs on a fresh clone (no ../shared):
each one is run here, as written or as its quick variant, or is listed below as skipped
with the reason. A command the lists do not know fails the test, so the docs cannot go
stale again (issue 20)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PLACEHOLDER = re.compile(r"[\[\]|…]|\b(ID|IN|OUT|FILE|MODEL|DIR|PX|PCT|N)\b|\$|\\$|&&")

# Long or machine-specific commands: (pattern on the normalised command, why not run here).
SKIP = [
    (r"--provider (cuda|tensorrt)|--cuda-graph", "needs an NVIDIA GPU"),
    (r"^bench (obs|stream|soak)", "streams from a headless OBS for minutes (e2e tests cover it)"),
    (r"^bash scripts/(test|soak|screenshots)", "the whole suite / minutes of OBS"),
    (r"screenshots", "starts a headless OBS (e2e harness)"),
    (r"^doctor --venv", "needs a venv made with the wrong Python"),
    (r"^models fetch", "downloads, or writes into models/ (a built variant)"),
    (r"^-m jump\.matte\.evaluate_matting", "historical: the module's name a commit earlier"),
    (r"^eval matte --(matting|framing|preprocessing|plate)", "minutes; `eval matte --quick` runs"),
    (r"^eval onsets", "minutes over the mixtures; `eval denoise --quick` runs the engine"),
    (r"^-m jump\.lab\.denoise\.dfn3_rate", "a timing (no quality figure)"),
    (r"^-m jump\.lab\.denoise\.echo_eval", "minutes over the echo mixtures (test_echo.py)"),
    (r"^-m jump\.lab\.matte\.device_quality", "minutes of RVM 768 (test_matte_device_graph)"),
    (
        r"^-m jump\.lab\.matte\.moving_clips",
        "a minute of encoding; test_propagate.py builds frames",
    ),
    (r"^-m jump\.lab\.matte\.propagate_eval", "minutes of RVM over the moving clips"),
    (r"^-m jump\.lab\.matte\.guard_eval", "minutes of RVM at five sizes (test_matte_guard)"),
    (r"^-m jump\.lab\.matte\.propagate_bench", "a timing (no quality figure)"),
    (r"^-m jump\.lab\.matte\.yuv_bench", "a timing (test_yuv.py checks the conversion)"),
    (r"^-m jump\.lab\.libobs_render", "libobs under Xvfb (tests/e2e/test_libobs_render.py)"),
    (r"^-m jump\.lab\.memory_soak", "minutes of matte and denoise for a memory figure"),
]
# Quick variants of long commands (pattern -> the arguments run instead).
QUICK = [
    (r"^bash scripts/demo", "demo out"),  # its set-up step makes .venv: the demo itself runs
    (r"^eval denoise", 'eval denoise --quick --out "" --only "Jump NSNet2"'),
    (r"^eval matte", "eval matte --quick --model mediapipe --figure fig.png"),
    (r"^bench denoise", "bench denoise --seconds 1 --repeat 1 --methods classical"),
    (r"^bench matte", "bench matte --model mediapipe --sizes 720p --frames 3 --threads 1"),
    (
        r"^models bench",
        "models bench mediapipe --variants fp32 --provider cpu --sizes 720p --frames 5",
    ),
    (r"^models optimize", "models optimize mediapipe --int8 --calibration 2 --out built"),
    (r"^models compare", "--help"),
]


def documented() -> list[tuple[str, str]]:
    """(file, command) for every command line in fenced blocks and inline code."""
    found = []
    for path in DOCS:
        fence = False
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip().startswith("```"):
                fence = not fence
                continue
            if fence:
                cmd = re.split(r"\s{2,}#|\s#\s", line)[0].strip()
                if re.match(r"^(\S+=\S+ )*(nice( -n \d+)? |taskset -c \S+ )?(\.venv/bin/)?"
                            r"python3? -m jump|^bash scripts/", cmd):  # fmt: skip
                    found.append((path.name, cmd))
            else:
                for m in re.finditer(r"`((?:\S+=\S+ )*(?:\.venv/bin/)?python -m jump[^`]*)`", line):
                    found.append((path.name, m.group(1).strip()))
    return found


def normalise(cmd: str) -> str:
    """The arguments after `python -m jump` (or `-m jump.x …`, or `bash scripts/…`)."""
    cmd = re.sub(r"^(\S+=\S+ )*(nice( -n \d+)? |taskset -c \S+ )?", "", cmd)
    if cmd.startswith("bash "):
        return cmd
    cmd = re.sub(r"^(\.venv/bin/)?python3? ", "", cmd)
    if cmd == "-m jump":
        return ""
    return cmd[len("-m jump ") :] if cmd.startswith("-m jump ") else cmd


def plan(cmd: str) -> tuple[str, str]:
    """("skip", why) | ("help", args) | ("run", args)."""
    args = normalise(cmd)
    args = re.sub(r"^-v ", "", args)
    for pattern, why in SKIP:
        if re.search(pattern, args):
            return "skip", why
    for pattern, quick in QUICK:
        if re.search(pattern, args):
            return "run", quick
    if args.startswith("-m ") or args.startswith("bash "):
        raise AssertionError(f"unknown command: add it to SKIP or QUICK: {cmd}")
    if PLACEHOLDER.search(args) or args.strip() in ("", "denoise", "matte"):
        # a template: its command words must exist (their --help runs)
        words = []
        for w in args.split():
            if PLACEHOLDER.search(w) or w.startswith("-"):
                break
            words.append(w)
        return "help", " ".join([*words, "--help"])
    return "run", args


CASES = documented()


def runs() -> dict[tuple[str, str], list[str]]:
    """Each distinct run (kind, args) once, with the documented commands it stands for."""
    out: dict[tuple[str, str], list[str]] = {}
    for doc, cmd in CASES:
        try:
            out.setdefault(plan(cmd), []).append(f"{doc}: {cmd}")
        except AssertionError:
            out.setdefault(("unknown", cmd), []).append(f"{doc}: {cmd}")
    return out


RUNS = runs()


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A working folder with the inputs the docs name, beside no ../shared."""
    d = tmp_path_factory.mktemp("fresh")
    data = REPO / "tests" / "data"
    for name in ("noisy.wav", "in.wav"):
        (d / name).write_bytes((data / "audio" / "speech" / "spk1_snt1.wav").read_bytes())
    (d / "photo.jpg").write_bytes((data / "matte" / "backgrounds" / "car-2.jpg").read_bytes())
    (d / "empty-room.png").write_bytes(
        (data / "matte" / "foregrounds" / "p3m-bac3c1ff.png").read_bytes()
    )
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-loop", "1", "-i", str(d / "photo.jpg"),
                    "-i", str(d / "in.wav"), "-t", "0.5", "-r", "6", "-vf",
                    "scale=160:-2,format=yuv420p", "-c:v", "libx264", "-c:a", "aac",
                    "-shortest", str(d / "cam.mp4")], check=True)  # fmt: skip
    return d


def test_every_documented_command_is_known() -> None:
    assert len(CASES) > 50
    for _, cmd in CASES:
        plan(cmd)  # raises for a command neither run nor skipped with a reason


@pytest.mark.parametrize(("kind", "what"), list(RUNS), ids=[w[:70] for _, w in RUNS])
def test_documented_command_runs(clone: Path, kind: str, what: str) -> None:
    assert kind != "unknown", f"add it to SKIP or QUICK: {RUNS[(kind, what)]}"
    if kind == "skip":
        pytest.skip(what)
    env = {k: v for k, v in os.environ.items() if k not in ("JUMP_MODELS", "JUMP_SHARED")}
    env.update(PYTHONPATH=str(REPO), JUMP_SHARED=str(clone / "no-shared"))
    args = shlex.split(what)
    if args and args[0] == "-m":
        argv = [sys.executable, *args]
    else:
        argv = [sys.executable, "-m", "jump", *args]
    r = subprocess.run(argv, cwd=clone, env=env, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    ok = (0, 1) if args[:1] == ["doctor"] else (0,)  # doctor reports a machine without OBS
    assert r.returncode in ok, f"{what}: exit {r.returncode}\n{r.stderr[-2000:]}"
