"""Jump Matte: the OBS video filter around `jump.matte.MatteWorker` (render path lands with issue 4)."""

from __future__ import annotations

from typing import Any

from jump.obs.data import Properties, Settings
from jump.obs.registry import FilterSpec, Source

S_MODEL = "model"
S_BACKGROUND = "background"


class PassthroughVideo:
    """Draws the source unchanged (also what runs when the engine cannot)."""

    def __init__(self, settings: Settings, source: Source) -> None:
        self.source = source

    def update(self, settings: Settings) -> None:
        pass

    def video_tick(self, seconds: float) -> None:
        pass

    def video_render(self) -> None:
        self.source.skip_video_filter()

    def destroy(self) -> None:
        pass


def defaults(settings: Settings) -> None:
    settings.set_default(S_MODEL, "mediapipe")
    settings.set_default(S_BACKGROUND, "transparent")


def properties(_instance: Any) -> Properties:
    p = Properties()
    p.add_list(S_MODEL, "Model", [("MediaPipe landscape (fast)", "mediapipe")])
    p.add_list(S_BACKGROUND, "Background", [("Transparent", "transparent")])
    return p


SPEC = FilterSpec(
    id="jump_matte",
    name="Jump Matte",
    kind="video",
    factory=PassthroughVideo,
    defaults=defaults,
    properties=properties,
    passthrough=PassthroughVideo,
)
