"""Test-only OBS script: fault injection and script reload, driven by the e2e tests.

Loaded after jump_obs.py by the test scene collection; never shipped to users.
JUMP_TEST_ACTIONS (comma-separated):
- "raise": every Jump filter callback that processes media raises, to prove the
  trampolines log once and pass media through.
- "stats": every second, write each live Jump filter's `stats()` as JSON lines to
  $JUMP_TEST_STATS (render-thread time, mask lag, inference time; audio frames in/out).
- "reload": while the file $JUMP_TEST_TRIGGER exists, reload jump_obs.py the way the
  Scripts dialog's reload button does (`obs_script_reload`, queued on the UI thread),
  then delete the trigger and append a line to $JUMP_TEST_TRIGGER.done.
"""

import ctypes
import os
from pathlib import Path

import obspython as obs

ACTIONS = set(filter(None, os.environ.get("JUMP_TEST_ACTIONS", "").split(",")))
TRIGGER = Path(os.environ.get("JUMP_TEST_TRIGGER", "/nonexistent"))
STATS = Path(os.environ.get("JUMP_TEST_STATS", "/nonexistent"))
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

    from jump.obs.registry import instances

    rows = [
        {"kind": kind, **inst.stats()}
        for kind in ("jump_matte", "jump_denoise")
        for inst in instances(kind)
        if hasattr(inst, "stats")
    ]
    STATS.write_text("\n".join(json.dumps(r) for r in rows))


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


def script_unload():
    obs.timer_remove(_poll)
    obs.timer_remove(_write_stats)
