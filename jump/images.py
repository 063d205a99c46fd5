"""Reading and writing the streamer's pictures under any path, on every system.

``cv2.imread``/``cv2.imwrite`` take a ``char*`` path, which on Windows is read in the ANSI
code page: ``C:\\Users\\José\\…`` works by luck, ``C:\\Users\\Łukasz\\…`` or a Japanese
user name does not (None / False, no error). Python opens the file (Unicode everywhere)
and OpenCV only decodes or encodes the bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np


def read_image(path: str | os.PathLike[str], flags: int = cv2.IMREAD_COLOR) -> np.ndarray | None:
    """The decoded picture, or None when the file is missing, unreadable or not a picture."""
    try:
        data = np.fromfile(os.fspath(path), dtype=np.uint8)
    except (OSError, ValueError):
        return None
    if data.size == 0:
        return None
    image = cv2.imdecode(data, flags)
    return image if image is not None and image.size else None


def write_image(path: str | os.PathLike[str], image: np.ndarray) -> bool:
    """Encode by the file's extension and write; False when OpenCV cannot encode it."""
    ok, data = cv2.imencode(Path(path).suffix or ".png", image)
    if not ok:
        return False
    data.tofile(os.fspath(path))
    return True
