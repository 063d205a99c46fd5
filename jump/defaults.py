"""Every default model choice, per surface, in one table — with why the surfaces differ.

Three surfaces start a model without the user naming one:

- **filter**: the OBS dialog. A live stream must never fall behind, whatever the machine,
  so both filters default to ``auto``: the best model this machine keeps up with, decided
  from measured time (``jump/matte/auto.py``, ``jump/denoise/auto.py``).
- **engine**: ``MatteSettings()`` / ``DenoiseSettings()`` built in code (tests, the lab,
  anything that constructs an engine directly). Engines never measure the machine, so
  they take the lightest model that ships in ``models/``: it loads fast and exists on a
  fresh clone.
- **cli**: ``python -m jump matte|denoise`` on a file. A file has no deadline, so the CLI
  takes the best quality and lets the user wait.
"""

from __future__ import annotations

AUTO = "auto"  # the measured choice (jump/matte/auto.py, jump/denoise/auto.py)

# (filter, engine, cli) per engine. The ids name manifest entries (models/*.json).
MATTE_MODEL = {
    "filter": AUTO,  # live: follow the machine (RVM 448 px down to MediaPipe)
    "engine": "mediapipe",  # ships in models/, ~20x cheaper than RVM on CPU
    "cli": "rvm",  # offline: best quality (fetched; falls back to the manifest's list)
}
DENOISE_MODEL = {
    "filter": AUTO,  # live: DeepFilterNet3 if the measured CPU time allows, else NSNet2
    "engine": "nsnet2-48k-int8",  # ships in models/, 20 ms latency, about half DFN3's CPU
    "cli": "deepfilternet3",  # offline: best measured quality (40 ms latency is no cost)
}
VAD_MODEL = "silero-vad"  # every surface: the one speech detector model that ships

# Jump Denoise's "auto" candidates, best first.
DENOISE_BEST_QUALITY = DENOISE_MODEL["cli"]
DENOISE_LOW_LATENCY = DENOISE_MODEL["engine"]

# The engines' defaults under the names settings and the lab import.
DEFAULT_MATTE_MODEL = MATTE_MODEL["engine"]
DEFAULT_DENOISE_MODEL = DENOISE_MODEL["engine"]
DEFAULT_VAD_MODEL = VAD_MODEL
