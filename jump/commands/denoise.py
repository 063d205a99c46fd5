"""`python -m jump denoise IN OUT`: a sound file or a whole recording through Jump Denoise.

Sound files (WAV, FLAC, OGG…) are read and written with soundfile. Recordings as OBS
writes them (.mp4 .mkv .flv .mov) go through the system ffmpeg (jump/commands/ffmpeg.py):
every audio track is denoised, the video and any other stream copied untouched.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from jump.commands import safe_output
from jump.commands.errors import CommandError, UsageError, number
from jump.defaults import DENOISE_MODEL

log = logging.getLogger("jump.denoise")

RECORDING_EXTS = (".mp4", ".mkv", ".flv", ".mov")  # jump.commands.ffmpeg imports numpy
# Short names for the command line; the manifest ids work too.
MODEL_ALIASES = {"dfn3": "deepfilternet3", "nsnet2": "nsnet2-48k-int8"}
# Files have no real-time deadline, so the command line runs the best-quality model; the
# OBS filter's default is "auto", which measures whether this machine keeps up with it.
DEFAULT_MODEL = DENOISE_MODEL["cli"]  # jump/defaults.py: "deepfilternet3"


def _defaults():
    from jump.denoise.settings import DenoiseSettings

    return DenoiseSettings()


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``denoise`` subcommand; every option is defined here (one place to extend)."""
    d = _defaults()
    p = sub.add_parser(
        "denoise",
        help="remove noise from a sound file or from every audio track of a recording",
        description=(
            "Denoise a sound file (WAV, FLAC, OGG…) or a recording (.mp4 .mkv .flv .mov, "
            "as OBS writes them; needs ffmpeg) with the engine of the OBS filter. Sound "
            "files keep their rate, channels and length, latency compensated: output "
            "sample n lines up with input sample n. Recordings: every audio track is "
            "denoised and the video copied untouched. Differences from the filter: the "
            f"model defaults to {DEFAULT_MODEL} (the filter: auto) and the output is "
            "written only when the whole file is done."
        ),
    )
    p.add_argument("input", type=Path, help="sound file or recording")
    p.add_argument("output", type=Path, help="output file of the same kind (new file)")
    p.add_argument("--model", default=DEFAULT_MODEL, metavar="ID",
                   help=f"denoise model (default: {DEFAULT_MODEL} = dfn3, 40 ms, best "
                        "quality; nsnet2 = nsnet2-48k-int8, 20 ms; auto = what the OBS filter "
                        "would pick on this machine; `python -m jump models` lists ids)")  # fmt: skip
    p.add_argument("--method", choices=("classical", "neural", "both"), default=d.method,
                   help="default: %(default)s")  # fmt: skip
    p.add_argument("--strength", type=number(0, 80, unit="dB"), default=d.strength_db,
                   help="largest attenuation in pauses, dB 0..80 (default: %(default)g)")  # fmt: skip
    p.add_argument("--speech-strength", type=number(0, 80, unit="dB"), default=None,
                   help=f"largest attenuation while talking, dB 0..80 (default: {d.speech_db:g}, "
                        "at most --strength)")  # fmt: skip
    p.add_argument("--mix", type=number(0, 1), default=d.mix,
                   help="dry/wet, 0..1 (default: %(default)g)")  # fmt: skip
    p.add_argument("--vad-threshold", type=number(0, 1), default=d.vad_threshold,
                   help="speech probability that opens the gate, 0..1 (default: %(default)g)")  # fmt: skip
    p.add_argument("--grace", type=number(0, 5000, unit="ms"), default=d.grace_ms,
                   help="gate hold after speech, ms 0..5000 (default: %(default)g)")  # fmt: skip
    p.add_argument("--release", type=number(1, 5000, unit="ms"), default=d.release_ms,
                   help="gate release time, ms 1..5000 (default: %(default)g)")  # fmt: skip
    p.add_argument("--lookahead", type=number(0, 60, unit="ms"), default=d.lookahead_ms,
                   help="onset look-ahead, ms 0..60, adds as much latency (default: %(default)g)")  # fmt: skip
    p.add_argument("--monitor", choices=("output", "removed"), default=d.monitor,
                   help="removed: write what the denoiser takes away (default: %(default)s)")  # fmt: skip
    p.add_argument(
        "--per-channel", action="store_true", help="one gain per channel (default: linked)"
    )
    p.add_argument("--provider", default=d.provider, metavar="NAME",
                   help="ONNX Runtime provider: cpu, cuda, dml, coreml, auto (default: %(default)s)")  # fmt: skip
    p.add_argument(
        "--no-vad-model", action="store_true", help="per-hop SNR detector only, no Silero VAD"
    )
    p.add_argument(
        "--models", default=None, metavar="DIR", help="folder searched first for model files"
    )
    p.add_argument("--reference", type=Path, default=None, metavar="FILE",
                   help="what the speakers played (the game), started with the input: its "
                        "echo is cancelled too (sound files only)")  # fmt: skip
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)
    return p


def _model_id(name: str) -> str:
    from jump.denoise import stages
    from jump.denoise.auto import AUTO

    model = MODEL_ALIASES.get(name, name)
    known = stages.model_ids()
    if model != AUTO and model not in known:
        names = ", ".join([AUTO, *MODEL_ALIASES, *known])
        raise UsageError(f"--model {name}: not a denoise model; denoise models: {names}")
    return model


def settings_from(args: argparse.Namespace):
    from dataclasses import replace

    from jump.denoise.settings import DenoiseSettings

    speech = args.speech_strength
    s = DenoiseSettings(
        method=args.method,
        strength_db=args.strength,
        speech_db=min(args.strength, _defaults().speech_db if speech is None else speech),
        mix=args.mix,
        vad_threshold=args.vad_threshold,
        grace_ms=args.grace,
        release_ms=args.release,
        lookahead_ms=args.lookahead,
        monitor=args.monitor,
        neural_model=_model_id(args.model),
        provider=args.provider,
        linked=not args.per_channel,
    )
    if args.no_vad_model:
        s = replace(s, vad_model="")
    return s


def _sound_format(path: Path, role: str) -> str:
    import soundfile as sf

    ext = path.suffix.lower().lstrip(".")
    fmt = {"aif": "AIFF", "aiff": "AIFF", "oga": "OGG", "opus": "OGG"}.get(ext, ext.upper())
    if fmt not in sf.available_formats():
        can = ", ".join(f".{f.lower()}" for f in ("WAV", "FLAC", "OGG", "AIFF", "MP3")
                        if f in sf.available_formats())  # fmt: skip
        raise UsageError(
            f"{path}: {role} format {path.suffix or '(no extension)'} is not supported; sound "
            f"files: {can}; recordings: {' '.join(RECORDING_EXTS)}"
        )
    return fmt


def run(args: argparse.Namespace) -> int:
    src, dst = safe_output.check_input(args.input), args.output
    safe_output.check_output(dst, [src, *([args.reference] if args.reference else [])])
    settings = settings_from(args)
    src_rec = src.suffix.lower() in RECORDING_EXTS
    dst_rec = dst.suffix.lower() in RECORDING_EXTS
    if src_rec != dst_rec:
        kinds = ("a recording", "a sound file")
        raise UsageError(
            f"{src} is {kinds[not src_rec]} but {dst} would be {kinds[not dst_rec]}: "
            f"write {'a recording (' + ' '.join(RECORDING_EXTS) + ')' if src_rec else 'a sound file'}"
        )
    if args.reference is not None:
        safe_output.check_input(args.reference)
        if src_rec:
            raise UsageError("--reference works on sound files, not recordings")
    if src_rec:
        return _recording(args, settings)
    _sound_format(dst, "output")
    return _sound_file(args, settings)


def _sound_file(args: argparse.Namespace, settings) -> int:
    import soundfile as sf

    from jump.commands.audio import denoise_array, read_reference
    from jump.commands.progress import Progress
    from jump.denoise.engine import Denoiser

    src, dst = args.input, args.output
    try:
        info = sf.info(str(src))
        data, rate = sf.read(str(src), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise UsageError(f"cannot read {src}: {exc}") from None
    if data.shape[0] == 0:
        raise UsageError(f"{src} holds no audio")
    d = Denoiser(rate, data.shape[1], settings, args.models)
    total = data.shape[0] / rate
    bar = Progress(src.name, total, unit="s", quiet=args.quiet)
    ref = None
    if args.reference is not None:
        try:
            ref = read_reference(args.reference, rate)
        except (RuntimeError, sf.LibsndfileError) as exc:
            raise UsageError(f"cannot read {args.reference}: {exc}") from None
    out = denoise_array(
        data.T, rate, denoiser=d, progress=lambda f: bar.update(f * total), reference=ref
    )
    bar.close(total)
    same = dst.suffix.lower() == src.suffix.lower()
    with safe_output.atomic(dst) as tmp:
        sf.write(str(tmp), out.T, rate, subtype=info.subtype if same else None,
                 format=_sound_format(dst, "output"))  # fmt: skip
    log.info("wrote %s (%s)", dst, d.status)
    return 0


def _recording(args: argparse.Namespace, settings) -> int:
    import tempfile

    import soundfile as sf

    from jump.commands import ffmpeg
    from jump.commands.audio import denoise_array
    from jump.commands.progress import Progress
    from jump.denoise.engine import Denoiser

    src, dst = args.input, args.output
    media = ffmpeg.probe(src)
    tracks = media.of("audio")
    if not tracks:
        raise UsageError(f"{src} has no audio track")
    ext = dst.suffix.lower()
    with tempfile.TemporaryDirectory(prefix="jump-denoise-") as work:
        cmd = [ffmpeg.binary(), "-v", "error", "-nostdin", "-y", "-i", str(src)]
        statuses = []
        for i, t in enumerate(tracks):
            if t.rate < 1000 or t.channels < 1:
                raise UsageError(f"{src}: audio track {i + 1} has no usable format")
            x = ffmpeg.read_audio(src, t)
            total = x.shape[1] / t.rate
            label = f"{src.name} track {i + 1}/{len(tracks)}"
            bar = Progress(label, total, unit="s", quiet=args.quiet)
            d = Denoiser(t.rate, t.channels, settings, args.models)
            y = denoise_array(
                x, t.rate, denoiser=d, progress=lambda f, b=bar, n=total: b.update(f * n)
            )
            bar.close(total)
            statuses.append(d.status)
            if ext == ".flv" and ffmpeg.reencodes(ext, t.codec):
                # FLV has no field for the AAC encoder's priming samples: players play them,
                # so drop as many here to keep the track in sync with the copied video
                y = y[:, ffmpeg.AAC_PRIMING :]
            wav = Path(work) / f"track{i}.wav"
            sf.write(str(wav), y.T, t.rate, subtype="FLOAT")
            # the decoded samples start at the track's own start time: keep that offset
            offset = max(0.0, t.start - media.start)
            cmd += ["-itsoffset", f"{offset:.6f}", "-i", str(wav)]
        cmd += ["-map", "0", "-map", "-0:a"]
        for i in range(len(tracks)):
            cmd += ["-map", f"{i + 1}:a:0"]
        cmd += ["-c", "copy", "-map_metadata", "0"]
        for i, t in enumerate(tracks):
            cmd += ffmpeg.audio_codec_args(ext, t.codec, t.bit_rate, i)
            cmd += [f"-map_metadata:s:a:{i}", f"0:s:a:{i}"]
        with safe_output.atomic(dst) as tmp:
            ffmpeg.run([*cmd, str(tmp)], f"writing {dst}")
    if not statuses:
        raise CommandError("nothing was denoised")
    log.info("wrote %s: %d audio track(s) denoised (%s), video copied", dst, len(tracks),
             statuses[0])  # fmt: skip
    return 0
