"""An async source's frame held back one video tick, so that it is drawn with its own mask.

At tick i OBS hands ``filter_video`` the frame it is about to draw. Jump Matte's worker
needs part of a frame period for that frame's mask, so the filter keeps the frame and
gives OBS the one it kept at tick i − 1, whose mask is done: picture and mask are of the
same frame, 1 frame (33 ms at 30 fps) late. This is OBS's own "Video Delay (Async)"
filter with a delay of one frame (plugins/obs-filters/async-delay-filter.c):

- a kept frame keeps the reference ``filter_frame`` (obs-source.c) took for the call, and
  OBS drops it when the frame comes back a tick later;
- a frame that never comes back (the filter stops holding, is removed, the source jumps
  in time) goes back with ``obs_source_release_frame``;
- NULL while the first frame is kept: OBS keeps drawing what it drew.

Only plain dict operations between taking a frame and returning one, so no exception can
leave a frame both kept and returned (OBS would then recycle it twice).
"""

from __future__ import annotations

from jump.obs import libobs as L

# OBS's async delay starts again on a timestamp jump of more than 1 s (or backwards): a
# frame kept across one (the filter disabled a while, a media source restarted) is stale
STALE_NS = 1_000_000_000

_kept: dict[int, tuple[int, int]] = {}  # filter data key -> (obs_source_frame*, timestamp)


def swap(data: int, frame: int, hold: bool, parent: int | None) -> int | None:
    """What ``filter_video`` returns for ``frame``: itself, or with ``hold`` the frame kept
    at the tick before (None: OBS draws what it drew). ``parent``: the filter's parent,
    which a frame not returned goes back to."""
    timestamp = int(L.obs_source_frame.from_address(frame).timestamp)
    old = _kept.pop(data, None)
    if old is not None and not (hold and 0 <= timestamp - old[1] <= STALE_NS):
        _release(parent, old[0])
        old = None
    if not hold:
        return frame
    _kept[data] = (frame, timestamp)
    return None if old is None else old[0]


def release(data: int, parent: int | None) -> None:
    """Give back the frame kept for filter ``data`` (filter_remove: OBS removes filters
    from their source, destroyed or not, before it frees the source's frames)."""
    old = _kept.pop(data, None)
    if old is not None:
        _release(parent, old[0])


def forget(data: int) -> bool:
    """Drop a kept frame without a parent to give it to (a filter destroyed without
    filter_remove: never seen from OBS). True if one was kept: that frame is lost."""
    return _kept.pop(data, None) is not None


def kept(data: int) -> bool:
    return data in _kept


def _release(parent: int | None, frame: int) -> None:
    if parent:
        L.fn().obs_source_release_frame(parent, frame)
