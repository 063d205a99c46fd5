"""`python -m jump matte IN OUT`: a picture or a video through Jump Matte's engine.

Pictures are read and written with OpenCV. Videos go through the system ffmpeg
(jump/commands/ffmpeg.py): H.264 in .mp4/.mkv, VP9 with alpha in .webm, ProRes 4444 with
alpha in .mov, the input's audio kept. What fits where is decided before any work.
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from jump.commands import safe_output
from jump.commands.errors import UsageError, number
from jump.defaults import MATTE_MODEL

log = logging.getLogger("jump.matte")

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
ALPHA_IMAGE_EXTS = (".png", ".webp", ".tif", ".tiff")
VIDEO_EXTS = (".mp4", ".mkv", ".mov", ".webm")
# Files have no frame deadline, so the command line runs the best-quality model; the OBS
# filter's default is "auto" (what keeps up with the camera). "auto" works here too.
DEFAULT_MODEL = MATTE_MODEL["cli"]  # jump/defaults.py: "rvm"


@dataclass(frozen=True)
class Codec:
    name: str
    args: tuple[str, ...]  # encoder arguments before the pixel format and quality
    alpha_pix: str  # "" = no alpha
    pix: str
    crf: tuple[int, int, int] | None  # (lo, hi, default) or None: no --crf
    containers: tuple[str, ...]


CODECS = {
    "h264": Codec("h264", ("-c:v", "libx264", "-preset", "medium"), "", "yuv420p", (0, 51, 18),
                  (".mp4", ".mkv", ".mov")),
    "vp9": Codec("vp9", ("-c:v", "libvpx-vp9", "-b:v", "0", "-row-mt", "1"), "yuva420p",
                 "yuv420p", (0, 63, 30), (".webm", ".mkv", ".mp4")),
    "prores": Codec("prores", ("-c:v", "prores_ks", "-profile:v", "4444"), "yuva444p10le",
                    "yuv444p10le", None, (".mov", ".mkv")),
}  # fmt: skip
DEFAULT_CODEC = {".mp4": "h264", ".mkv": "h264", ".webm": "vp9", ".mov": "prores"}


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``matte`` subcommand; every option is defined here (one place to extend)."""
    from jump.matte.settings import MatteSettings

    d = MatteSettings()
    p = sub.add_parser(
        "matte",
        help="cut the person out of a picture or a video",
        description=(
            "Matte a picture or a video with the engine of the OBS filter. A picture with a "
            "transparent background goes to .png/.webp/.tif (alpha = the matte); a video to "
            ".webm (VP9 with alpha), .mov (ProRes 4444 with alpha), or, with --background "
            "other than transparent, .mp4/.mkv (H.264). Videos keep their audio and need "
            "ffmpeg. .png OUT for a video writes a picture sequence (OUT may hold a "
            "%d pattern, e.g. out_%05d.png). Differences from the filter: the model defaults "
            f"to {DEFAULT_MODEL} (the filter: auto) and nothing is written until the work is done."
        ),
    )
    p.add_argument("input", type=Path, help="picture or video")
    p.add_argument("output", type=Path, help="output file (see above); a new file")
    p.add_argument("--background", default="transparent", metavar="BG",
                   help="transparent, blur, #RRGGBB or a picture file (default: %(default)s)")  # fmt: skip
    p.add_argument("--model", default=DEFAULT_MODEL, metavar="ID",
                   help=f"matte model (default: {DEFAULT_MODEL}, best quality; mediapipe is "
                        "fastest; auto = what the OBS filter's Auto would run on this machine)")  # fmt: skip
    p.add_argument("--codec", choices=sorted(CODECS), default=None,
                   help="video codec (default: h264 for .mp4/.mkv, vp9 for .webm, prores for .mov)")  # fmt: skip
    p.add_argument("--crf", type=number(0, 63, int), default=None,
                   help="video quality, lower = better: h264 0..51 (default 18), vp9 0..63 (default 30)")  # fmt: skip
    p.add_argument("--view", choices=("result", "mask", "overlay"), default="result",
                   help="result; mask: the matte in black and white; overlay: what is cut away "
                        "tinted red (default: %(default)s)")  # fmt: skip
    p.add_argument("--grow", type=number(-100, 100, unit="px"), default=d.grow_px,
                   help="move the edge out (+) or in (-), px of a 720p picture, -100..100 "
                        "(default: %(default)g)")  # fmt: skip
    p.add_argument("--min-blob", type=number(0, 50, unit="%"), default=100 * d.min_blob,
                   help="remove specks under this %% of the frame, 0..50 (default: %(default)g)")  # fmt: skip
    p.add_argument("--feather", type=number(0, 200, unit="px"), default=d.feather_px,
                   help="outward feather, px of a 720p picture, 0..200 (default: %(default)g)")  # fmt: skip
    p.add_argument("--keep-zones", type=Path, default=None, metavar="IMAGE",
                   help="mask picture: white = always keep, black = always remove, grey = the model")  # fmt: skip
    p.add_argument("--plate", type=Path, default=None, metavar="IMAGE",
                   help="picture of the empty room (clean plate)")  # fmt: skip
    p.add_argument("--plate-tolerance", type=number(0.5, 50), default=d.plate_tolerance,
                   help="room match tolerance in noise units, 0.5..50 (default: %(default)g)")  # fmt: skip
    p.add_argument("--low-light", choices=("off", "auto", "on"), default=d.low_light,
                   help="brighten dark frames for the model (default: %(default)s)")  # fmt: skip
    p.add_argument("--inner", type=number(64, 2048, int), default=0, metavar="PX",
                   help="RVM's inner-pass long side, 64..2048 (default: the model's, 448; "
                   "576 or 768 are sharper where a GPU has the room, docs/gpu.md)")  # fmt: skip
    p.add_argument("--no-refine", action="store_true", help="skip guided-filter edge refinement")
    p.add_argument("--no-auto-frame", action="store_true",
                   help="light models: do not crop their input to the subject")  # fmt: skip
    p.add_argument("--threads", type=number(1, 64, int), default=d.threads,
                   help="ONNX Runtime threads, 1..64 (default: %(default)s)")  # fmt: skip
    p.add_argument("--provider", default=d.provider, metavar="NAME",
                   help="auto, cpu, cuda, tensorrt, dml, coreml (default: %(default)s)")  # fmt: skip
    p.add_argument(
        "--models", default=None, metavar="DIR", help="folder searched first for model files"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.add_argument("--live", action="store_true",
                   help="play the video through the OBS filter's worker in real time (model "
                        "auto unless --model names another) and write what the filter shows "
                        "at each frame; prints model runs/s and the worker's CPU cores")  # fmt: skip
    p.add_argument("--fps", type=number(1, 240), default=None,
                   help="--live: frames fed per second (default: the clip's)")  # fmt: skip
    p.add_argument("--delay-video", type=number(0, 250, int, unit="ms"), default=0,
                   metavar="MS", help="--live: the filter's 'delay video' (default: off)")  # fmt: skip
    p.set_defaults(func=run)
    return p


def _model_id(name: str, models_dir: str | None) -> str:
    from jump import catalogue
    from jump.matte.auto import AUTO

    matte = [e.id for e in catalogue.load_manifest().values() if e.kind == "matte"]
    if name != AUTO and name not in matte:
        raise UsageError(
            f"--model {name}: not a matte model; matte models: {', '.join([AUTO, *matte])}"
        )
    return name


def settings_from(args: argparse.Namespace):
    from jump.matte.settings import MatteSettings

    return MatteSettings(
        model=_model_id(args.model, args.models),
        threads=args.threads,
        provider=args.provider,
        low_light=args.low_light,
        rvm_inner=getattr(args, "inner", 0),
        feather_px=args.feather,
        refine=not args.no_refine,
        grow_px=args.grow,
        min_blob=args.min_blob / 100.0,
        keep_zones=os.fspath(args.keep_zones) if args.keep_zones else "",
        use_plate=args.plate is not None,
        plate_tolerance=args.plate_tolerance,
        auto_frame=not args.no_auto_frame,
    )


def _read_picture(path: Path, what: str, flags: int | None = None):
    import cv2

    from jump.images import read_image

    safe_output.check_input(path, what)
    image = read_image(path, cv2.IMREAD_COLOR if flags is None else flags)
    if image is None:
        raise UsageError(f"cannot read {what} {path}: not a picture OpenCV reads")
    return image


def _background(spec: str):
    """'transparent' | 'blur' | (b, g, r) | BGR picture."""
    from jump.commands.composite import parse_colour

    if spec in ("transparent", "blur"):
        return spec
    colour = parse_colour(spec)
    if colour is not None:
        return colour
    if not Path(spec).is_file():
        raise UsageError(f"--background {spec}: not transparent, blur, #RRGGBB or a picture file")
    return _read_picture(Path(spec), "background picture")


def _plan_video(args: argparse.Namespace, alpha: bool) -> Codec | None:
    """The codec for a video output, or None for a picture sequence; refused before work."""
    ext = args.output.suffix.lower()
    if ext == ".png":
        return None
    if ext not in VIDEO_EXTS:
        raise UsageError(
            f"{args.output}: a video goes to {', '.join(VIDEO_EXTS)} or a .png sequence"
        )
    codec = CODECS[args.codec or DEFAULT_CODEC[ext]]
    if ext not in codec.containers:
        raise UsageError(f"--codec {codec.name} does not go into {ext}; it does into "
                         f"{', '.join(codec.containers)}")  # fmt: skip
    if alpha and not codec.alpha_pix:
        raise UsageError(
            f"{args.output}: {codec.name} in {ext} cannot hold the transparent background; "
            "transparent video goes to .webm (VP9), .mov (ProRes 4444) or a .png sequence, "
            "or give --background blur|#RRGGBB|IMAGE"
        )
    if args.crf is not None:
        if codec.crf is None:
            raise UsageError(f"--crf does not apply to {codec.name} (ProRes has fixed quality)")
        lo, hi, _ = codec.crf
        if not lo <= args.crf <= hi:
            raise UsageError(f"--crf {args.crf} is out of range {lo}..{hi} for {codec.name}")
    return codec


def _encode_args(codec: Codec, alpha: bool, crf: int | None) -> list[str]:
    out = [*codec.args, "-pix_fmt", codec.alpha_pix if alpha else codec.pix]
    if codec.crf is not None:
        out += ["-crf", str(codec.crf[2] if crf is None else crf)]
    return out


def run(args: argparse.Namespace) -> int:
    src, dst = safe_output.check_input(args.input), args.output
    picture_in = src.suffix.lower() in IMAGE_EXTS
    if "%" not in dst.name:
        safe_output.check_output(dst, [src, args.keep_zones, args.plate])
    elif picture_in:
        raise UsageError(f"{dst}: a %d pattern is for a video's picture sequence")
    else:
        _check_pattern(dst)
    # What the output must hold, decided before any work.
    background = _background(args.background)
    alpha = args.view == "result" and isinstance(background, str) and background == "transparent"
    if picture_in:
        ext = dst.suffix.lower()
        can = ALPHA_IMAGE_EXTS if alpha else IMAGE_EXTS
        if ext not in can:
            why = "the transparent background" if alpha else "a picture"
            raise UsageError(f"{dst}: {ext or 'no extension'} cannot hold {why}; use "
                             f"{', '.join(can)}" + ("" if not alpha else
                             " (or --background blur|#RRGGBB|IMAGE for .jpg)"))  # fmt: skip
        codec = None
    else:
        codec = _plan_video(args, alpha)
    if args.keep_zones is not None:
        _read_picture(args.keep_zones, "keep-zones picture")
    plate = _read_picture(args.plate, "clean plate") if args.plate is not None else None
    settings = settings_from(args)
    view = args.view if args.view != "result" else background
    if getattr(args, "live", False) and not picture_in:
        from jump.lab.matte import live  # a lab tool: it plays, measures and scores

        return live.command(args, settings, view, codec, alpha)
    if picture_in:
        return _picture(args, settings, view, plate)
    return _video(args, settings, view, plate, codec, alpha)


def _engine(args: argparse.Namespace, settings, first_frame, fps: float, plate):
    from jump.commands.auto_choice import matte_auto
    from jump.matte.auto import AUTO
    from jump.matte.clean_plate import CleanPlate
    from jump.matte.engine import MatteEngine

    if settings.model == AUTO:
        choice = matte_auto(settings, args.models, first_frame, fps)
        log.info("--model auto: %s (%s)", choice.rung.label, choice.reason)
        settings = settings.with_(model=choice.rung.model, rvm_inner=choice.rung.inner)
    # the soft edges are decontaminated after the engine, as the OBS shader does
    matter = MatteEngine(settings.with_(decontaminate=False), args.models)
    if plate is not None:
        h, w = first_frame.shape[:2]
        matter.overrides.set_plate(CleanPlate.from_image(plate, matter.work_size(w, h)))
    return matter


def _matte_frame(matter, frame, decontaminate: bool):
    """(colour, alpha): the frame with its soft edges decontaminated (the shader's twin,
    ``jump.matte.decontaminate.decontaminate_frame``) when asked, and the matte."""
    from jump.matte.decontaminate import decontaminate_frame

    r = matter.process_detailed(frame, "bgr", want_raw=False)
    if not decontaminate:
        return frame, r.alpha
    h, w = frame.shape[:2]
    return decontaminate_frame(frame, r.alpha, matter.work_size(w, h)), r.alpha


def _compose(frame, alpha, background):
    from jump.commands import composite

    if isinstance(background, str):
        if background == "mask":
            return composite.mask_view(alpha)
        if background == "overlay":
            return composite.overlay_view(frame, alpha)
        if background == "transparent":
            return composite.straight_rgba(frame, alpha)
        return composite.background_blur(frame, alpha)
    if isinstance(background, tuple):
        return composite.over_colour(frame, alpha, background)
    return composite.over_image(frame, alpha, background)


def _picture(args: argparse.Namespace, settings, view, plate) -> int:
    from jump.images import write_image

    image = _read_picture(args.input, "picture")
    matter = _engine(args, settings, image, 30.0, plate)
    out = _compose(*_matte_frame(matter, image, settings.decontaminate), view)
    with safe_output.atomic(args.output) as tmp:
        if not write_image(tmp, out):
            raise OSError(f"OpenCV could not write {args.output}")
    log.info("wrote %s (model %s)", args.output, matter.settings.model)
    return 0


def _video(args: argparse.Namespace, settings, view, plate, codec, alpha: bool) -> int:
    import contextlib

    from jump.commands import ffmpeg
    from jump.commands.errors import CommandError
    from jump.commands.progress import Progress
    from jump.images import write_image

    media = ffmpeg.probe(args.input)
    videos = media.of("video")
    if not videos:
        raise UsageError(
            f"{args.input} has no video stream (a picture? use {', '.join(IMAGE_EXTS)})"
        )
    v = videos[0]
    fps = ffmpeg.fps_value(v.fps)
    total = v.frames or (round(media.duration * fps) if media.duration else None)
    reader = ffmpeg.VideoReader(args.input, v)
    frames = iter(reader)
    first = next(frames, None)
    if first is None:
        reader.close()
        raise UsageError(f"{args.input}: no frame could be decoded")
    matter = _engine(args, settings, first, fps, plate)
    bar = Progress(args.input.name, total, quiet=args.quiet)
    done = 0
    dst = args.output
    try:
        if codec is None:  # a picture sequence
            pattern = dst.name if "%" in dst.name else f"{dst.stem}_%05d.png"
            with safe_output.atomic_folder(dst) as folder:
                for frame in _chain(first, frames):
                    out = _compose(*_matte_frame(matter, frame, settings.decontaminate), view)
                    if not write_image(folder / (pattern % done), out):
                        raise CommandError(f"OpenCV could not write {pattern % done}")
                    done += 1
                    bar.update(done)
        else:
            with safe_output.atomic(dst) as tmp:
                writer = ffmpeg.VideoWriter(tmp, v.width, v.height, v.fps, alpha,
                                            _encode_args(codec, alpha, args.crf), args.input,
                                            media.of("audio"), dst.suffix.lower())  # fmt: skip
                try:
                    for frame in _chain(first, frames):
                        writer.write(
                            _compose(*_matte_frame(matter, frame, settings.decontaminate), view)
                        )
                        done += 1
                        bar.update(done)
                except BaseException:
                    with contextlib.suppress(Exception):
                        writer.close(abort=True)
                    raise
                writer.close()
    finally:
        reader.close()
    bar.close(done)
    log.info("wrote %s: %d frames (model %s)", dst, done, matter.settings.model)
    return 0


def _check_pattern(dst: Path) -> None:
    """A picture-sequence name must take one frame number (``out_%05d.png``)."""
    try:
        name = dst.name % 0
    except (TypeError, ValueError):
        name = ""
    if not name or "%" in name or dst.suffix.lower() != ".png":
        raise UsageError(f"{dst}: a picture sequence takes one number, e.g. out_%05d.png")
    if dst.parent.is_dir() is False and dst.parent.exists():
        raise UsageError(f"{dst.parent} is not a folder")


def _chain(first, rest):
    yield first
    yield from rest
