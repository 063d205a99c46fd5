"""Test-only OBS script: fault injection and script reload, driven by the e2e tests.

Loaded after jump_obs.py by the test scene collection; never shipped to users.
JUMP_TEST_ACTIONS (comma-separated):
- "raise": every Jump filter callback that processes media raises, to prove the
  trampolines log once and pass media through.
- "stats": every second, write each live Jump filter's `stats()` as JSON lines to
  $JUMP_TEST_STATS (render-thread time, mask lag, inference time; audio frames in/out).
- "props": once, 2 s after loading, write [name, visible] of each property (groups flattened) of the
  filters named in $JUMP_TEST_PROPS_SOURCES ("Source/Filter,...") to $JUMP_TEST_PROPS as
  JSON, through obs_source_properties: the path the filter's Properties dialog takes.
- "press": while the file $JUMP_TEST_PRESS exists, press the property button it names
  ("Source/Filter/button_key") through obs_property_button_clicked — what clicking it in
  the Filters dialog does — then delete it and append a line to $JUMP_TEST_PRESS.done.
- "reload": while the file $JUMP_TEST_TRIGGER exists, reload jump_obs.py the way the
  Scripts dialog's reload button does (`obs_script_reload`, queued on the UI thread),
  then delete the trigger and append a line to $JUMP_TEST_TRIGGER.done.
"""

import ctypes
import os
import sys
from pathlib import Path

import obspython as obs

ACTIONS = set(filter(None, os.environ.get("JUMP_TEST_ACTIONS", "").split(",")))
TRIGGER = Path(os.environ.get("JUMP_TEST_TRIGGER", "/nonexistent"))
STATS = Path(os.environ.get("JUMP_TEST_STATS", "/nonexistent"))
PROPS = Path(os.environ.get("JUMP_TEST_PROPS", "/nonexistent"))
PRESS = Path(os.environ.get("JUMP_TEST_PRESS", "/nonexistent"))
PROPS_SOURCES = os.environ.get("JUMP_TEST_PROPS_SOURCES", "").split(",")
JUMP_SCRIPT = os.environ.get("JUMP_TEST_SCRIPT", "")
OBS_TASK_UI = 0
TASK = ctypes.CFUNCTYPE(None, ctypes.c_void_p)

_scripting = ctypes.CDLL("libobs-scripting.so.1")
_scripting.obs_script_create.restype = ctypes.c_void_p
_scripting.obs_script_create.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
_scripting.obs_script_reload.argtypes = [ctypes.c_void_p]
_libobs = ctypes.CDLL("libobs.so.0")
_libobs.obs_queue_task.argtypes = [ctypes.c_int, TASK, ctypes.c_void_p, ctypes.c_bool]
_state = {"script": None, "reloads": 0}


def _raise(*_args, **_kwargs):
    raise RuntimeError("injected by jump_test_hooks")


def _reload_on_ui_thread(_param):
    try:
        if _state["script"] is None:  # created here: obs_script_create inside script_load crashes
            _state["script"] = _scripting.obs_script_create(JUMP_SCRIPT.encode(), None)
        _scripting.obs_script_reload(_state["script"])
        _state["reloads"] += 1
        with open(f"{TRIGGER}.done", "a") as fh:
            fh.write(f"reload {_state['reloads']}\n")
    except Exception as exc:  # never let an exception out of a C callback
        print("jump_test_hooks reload failed:", exc)


_reload_cb = TASK(_reload_on_ui_thread)


def _poll():
    if TRIGGER.exists():
        TRIGGER.unlink()
        _libobs.obs_queue_task(OBS_TASK_UI, _reload_cb, None, False)


def _write_stats():
    import json

    from jump.obs.instances import instances

    rows = [
        {"kind": kind, **inst.stats()}
        for kind in ("jump_matte", "jump_denoise")
        for inst in instances(kind)
        if hasattr(inst, "stats")
    ]
    # the interpreter's own heap, for the soak's memory breakdown
    rows.append({"kind": "python", "blocks": sys.getallocatedblocks(), **_malloc_mb()})
    # written aside and renamed: a reader never meets the file half written
    partial = STATS.with_name(STATS.name + ".part")
    partial.write_text("\n".join(json.dumps(r) for r in rows))
    os.replace(partial, STATS)


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (n, ctypes.c_size_t)
        for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                  "uordblks", "fordblks", "keepcost")
    ]  # fmt: skip


def _malloc_mb():
    """glibc's account of OBS's heap (all arenas), for the soak: in use, held free, mmapped.
    Anonymous memory that grows outside these was never malloc's (pymalloc's arenas,
    the GL driver's own maps, thread stacks)."""
    try:
        fn = ctypes.CDLL(None).mallinfo2
    except AttributeError:  # glibc < 2.33, or not glibc
        return {}
    fn.restype = _Mallinfo2
    m = fn()
    mb = 2**20
    return {
        "malloc_used": m.uordblks / mb,
        "malloc_free": m.fordblks / mb,
        "malloc_mmap": m.hblkhd / mb,
    }


def _declare(name, restype, argtypes):
    func = getattr(_libobs, name)
    func.restype, func.argtypes = restype, argtypes
    return func


_P = ctypes.c_void_p
_get_source = _declare("obs_get_source_by_name", _P, [ctypes.c_char_p])
_get_filter = _declare("obs_source_get_filter_by_name", _P, [_P, ctypes.c_char_p])
_release = _declare("obs_source_release", None, [_P])
_properties = _declare("obs_source_properties", _P, [_P])
_first = _declare("obs_properties_first", _P, [_P])
_next = _declare("obs_property_next", ctypes.c_bool, [ctypes.POINTER(_P)])
_prop_name = _declare("obs_property_name", ctypes.c_char_p, [_P])
_group = _declare("obs_property_group_content", _P, [_P])
_destroy = _declare("obs_properties_destroy", None, [_P])
_visible = _declare("obs_property_visible", ctypes.c_bool, [_P])
_get_prop = _declare("obs_properties_get", _P, [_P, ctypes.c_char_p])
_clicked = _declare("obs_property_button_clicked", ctypes.c_bool, [_P, _P])


def _press():
    """Press the button named in $JUMP_TEST_PRESS, as the Filters dialog does."""
    if not PRESS.exists():
        return
    try:
        _press_now()
    except Exception as exc:  # never let an exception out of a C callback
        print("jump_test_hooks press failed:", repr(exc))


def _press_now():
    source_name, filter_name, key = PRESS.read_text().strip().split("/")
    PRESS.unlink()
    source = _get_source(source_name.encode())
    flt = _get_filter(source, filter_name.encode())
    props = _properties(flt)
    prop = _get_prop(props, key.encode())  # searches groups too
    pressed = bool(prop) and _clicked(prop, flt)
    _destroy(props)
    _release(flt)
    _release(source)
    with open(f"{PRESS}.done", "a") as fh:
        fh.write(f"{key} {'found' if prop else 'missing'} {pressed}\n")


def _names(props):
    names, prop = [], _P(_first(props))
    while prop.value:
        names.append([_prop_name(prop).decode(), bool(_visible(prop))])
        group = _group(prop)
        if group:
            names.extend(_names(group))
        if not _next(ctypes.byref(prop)):
            break
    return names


def _write_props():
    """ "Source/Filter" pairs from $JUMP_TEST_PROPS_SOURCES → their property names."""
    import json

    obs.timer_remove(_write_props)
    obs.timer_remove(_press)
    found = {}
    for pair in PROPS_SOURCES:
        source_name, filter_name = pair.split("/")
        source = _get_source(source_name.encode())
        flt = _get_filter(source, filter_name.encode())
        props = _properties(flt)
        found[filter_name] = _names(props)
        _destroy(props)
        _release(flt)
        _release(source)
    # written aside and renamed: the test polls for the file and must never read it half
    # written (CI once met it empty)
    partial = PROPS.with_name(PROPS.name + ".part")
    partial.write_text(json.dumps(found))
    os.replace(partial, PROPS)


def script_load(settings):
    if "raise" in ACTIONS:
        from jump.filters import denoise, matte

        for module, method in ((denoise, "filter_audio"), (matte, "video_render")):
            for cls in vars(module).values():
                if isinstance(cls, type) and hasattr(cls, method):
                    setattr(cls, method, _raise)
    if "reload" in ACTIONS and JUMP_SCRIPT:
        obs.timer_add(_poll, 100)
    if "stats" in ACTIONS:
        obs.timer_add(_write_stats, 1000)
    if "props" in ACTIONS:
        obs.timer_add(_write_props, 2000)
    if "press" in ACTIONS:
        obs.timer_add(_press, 200)


def script_unload():
    obs.timer_remove(_poll)
    obs.timer_remove(_write_stats)
    obs.timer_remove(_write_props)
    obs.timer_remove(_press)
