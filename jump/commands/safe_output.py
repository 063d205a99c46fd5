"""Outputs that never destroy an input and never leave a partial file.

Every command writes through ``atomic``: the result goes to a temporary file beside the
output (same folder, so the final rename is atomic on one file system; same extension, so
encoders pick the format from it) and is renamed into place only when the work succeeded.
An error or Ctrl-C deletes the temporary file: the old output, if any, stays as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from jump.commands.errors import UsageError


def same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` name one file: any spelling, symlink or hard link."""
    with contextlib.suppress(OSError):
        if os.path.samefile(a, b):  # device + inode: catches hard links and symlinks
            return True
    return os.path.realpath(a) == os.path.realpath(b)


def check_output(output: Path, inputs: Iterable[Path | None]) -> None:
    """Refuse (exit 2) an output that is a folder or that is one of the inputs."""
    if output.is_dir():
        raise UsageError(f"{output} is a folder: give a file name, e.g. {output / 'out'}")
    if not output.suffix:
        raise UsageError(f"{output} has no extension: it decides the output format")
    for src in inputs:
        if src is not None and same_file(output, src):
            raise UsageError(f"{output} is the input {src}: write the result to another file")


def check_input(path: Path, what: str = "file") -> Path:
    """An existing, readable file, or exit 2."""
    if not path.exists():
        raise UsageError(f"no such {what}: {path}")
    if path.is_dir():
        raise UsageError(f"{path} is a folder, not a {what}")
    if not os.access(path, os.R_OK):
        raise UsageError(f"cannot read {what} {path}: permission denied")
    return path


def _prepare_folder(output: Path) -> Path:
    folder = output.parent if str(output.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the folder {folder}: {exc.strerror or exc}") from None
    return folder


@contextlib.contextmanager
def atomic(output: Path) -> Iterator[Path]:
    """Yields a temporary path beside ``output``; renamed onto it only if the block succeeds."""
    folder = _prepare_folder(output)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.stem}.", suffix=f".partial{output.suffix}",
                               dir=folder)  # fmt: skip
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp makes the file private (0600); a normal output gets the umask's mode
    umask = os.umask(0)
    os.umask(umask)
    with contextlib.suppress(OSError):
        tmp_path.chmod(0o666 & ~umask)
    try:
        yield tmp_path
        if not tmp_path.is_file() or tmp_path.stat().st_size == 0:
            raise OSError(f"nothing was written to {output}")
        os.replace(tmp_path, output)
    finally:
        with contextlib.suppress(OSError):
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_folder(output: Path) -> Iterator[Path]:
    """For a picture sequence: a temporary folder beside it whose files are moved into
    ``output``'s folder on success (each file replaced atomically), or all deleted."""
    folder = _prepare_folder(output)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.stem}.", suffix=".partial", dir=folder))
    try:
        yield tmp
        names = sorted(p.name for p in tmp.iterdir())
        if not names:
            raise OSError(f"nothing was written to {output}")
        for name in names:
            os.replace(tmp / name, folder / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
