"""Jump Denoise: the OBS audio filter around `jump.denoise.Denoiser`.

OBS hands float planar audio at the output rate on the source's own thread, with the
source's filter mutex held. The engine returns exactly as many samples as it gets,
delayed by its fixed algorithmic latency, so the filter edits the packet in place and
shifts its timestamp back by that latency: samples out == samples in, and OBS keeps
audio and video in sync. If the engine cannot run, audio passes through untouched.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from jump.defaults import DENOISE_MODEL
from jump.filters import av_sync
from jump.filters.base import JumpFilter, Passthrough
from jump.filters.echo_reference import S_REFERENCE, ReferenceInput
from jump.obs.data import AudioPacket, Properties, Settings
from jump.obs.registry import AUDIO_FILTER, FilterSpec
from jump.obs.source import Source, audio_format

# --- setting keys -------------------------------------------------------------------
S_METHOD = "method"
S_STRENGTH = "strength_db"
S_SPEECH_STRENGTH = "speech_db"
S_MIX = "mix"
S_VAD_THRESHOLD = "vad_threshold"
S_GRACE = "grace_ms"
S_RELEASE = "release_ms"
S_LOOKAHEAD = "lookahead_ms"
S_MONITOR = "monitor"
S_LINKED = "linked"
S_MODEL = "neural_model"
S_MODELS_DIR = "models_dir"

# The model choices users see; "auto" measures DeepFilterNet3 at start (jump/denoise/auto.py).
MODEL_LABELS = {
    "auto": "Automatic: best quality if this machine keeps up",
    "deepfilternet3": "Best quality (DeepFilterNet3, ~30–40 ms)",
    "nsnet2-48k-int8": "Lowest latency (NSNet2, 20 ms)",
}
TIMESTAMP_JUMP_NS = 1_000_000_000  # like OBS's own noise suppression: reset after a gap


def engine_settings(settings: Settings) -> Any:
    from jump.denoise import DenoiseSettings

    return DenoiseSettings(
        method=settings.get_str(S_METHOD),
        strength_db=settings.get_float(S_STRENGTH),
        speech_db=settings.get_float(S_SPEECH_STRENGTH),
        mix=settings.get_float(S_MIX) / 100.0,
        vad_threshold=settings.get_float(S_VAD_THRESHOLD) / 100.0,
        grace_ms=settings.get_float(S_GRACE),
        release_ms=settings.get_float(S_RELEASE),
        lookahead_ms=settings.get_float(S_LOOKAHEAD),
        monitor=settings.get_str(S_MONITOR),
        linked=settings.get_bool(S_LINKED),
        neural_model=settings.get_str(S_MODEL),
    ).sanitised()


# --- state and callbacks ------------------------------------------------------------
class DenoiseFilter(JumpFilter):
    title = "Jump Denoise"

    def __init__(self, settings: Settings, source: Source) -> None:
        super().__init__(source, "jump.denoise.filter")
        self.latency_ns = 0
        self.last_ts = 0
        self.parent: Source | None = None  # the source this filter is on, looked up once
        self.parent_known = False
        self.counts = (0, 0)  # (frames in, frames out), one tuple so readers never see half
        self.sample_rate, self.channels = audio_format()
        self.reference = ReferenceInput(self._prefix(), self.sample_rate, self.channels)
        self.update(settings)

    def update(self, settings: Settings) -> None:
        from jump.denoise import Denoiser  # here: the module imports without numpy

        make = partial(Denoiser, self.sample_rate, self.channels)
        self.apply(engine_settings(settings), settings.get_str(S_MODELS_DIR) or None, make)
        self.latency_ns = round(self.engine.latency_samples * 1e9 / self.sample_rate)
        self.reference.select(settings.get_str(S_REFERENCE), self.source.parent())
        if self.reference.capture is None and self.engine is not None:
            self.engine.drop_reference()

    @property
    def engine(self) -> Any:
        """The ``Denoiser``, run inline on the audio thread (None once destroyed)."""
        return self._backend

    def describe(self) -> str:
        latency_ms = 1e3 * self.engine.latency_samples / self.sample_rate
        return f"{self.sample_rate} Hz, {self.channels} ch, latency {latency_ms:.1f} ms: {self.engine.status}"

    def filter_audio(self, packet: AudioPacket) -> AudioPacket:
        engine = self.engine
        planes = packet.planes(self.channels)
        if engine is None or len(planes) != self.channels:
            return packet
        import numpy as np

        ts = packet.timestamp
        if self.last_ts and abs(ts - self.last_ts) > TIMESTAMP_JUMP_NS:
            engine.reset()
        self.last_ts = ts
        if not self.parent_known:
            self.parent, self.parent_known = self.source.parent(), True
        ref = self.reference.read(ts, packet.frames, self.parent, engine)
        out = engine.push(np.stack(planes), ref)
        for plane, row in zip(planes, out, strict=True):
            plane[:] = row
        # read per packet: a model with lookahead, switched in place, changes the latency
        self.latency_ns = round(engine.latency_samples * 1e9 / self.sample_rate)
        # and later by Jump Matte's "delay video" on this source, which its Sync Offset
        # cannot undo (jump.filters.av_sync)
        packet.timestamp = ts - self.latency_ns + av_sync.video_delay_ns(self.parent)
        self.counts = (self.counts[0] + packet.frames, self.counts[1] + out.shape[1])
        return packet

    def stats(self) -> dict[str, float | str]:
        engine = self.engine
        return {
            "frames_in": self.counts[0],
            "frames_out": self.counts[1],
            "latency_ms": self.latency_ns / 1e6,
            "added_ms": av_sync.video_delay_ns(self.parent) / 1e6,
            # what runs, and a fallback's reason: a stream never breaks, but users see why
            "model": engine.model_name if engine is not None else "none",
            "model_note": engine.model_note if engine is not None else "",
            "echo": engine.echo_status if engine is not None else "",
            "reference": self.reference.state,
            "reference_ahead_ms": self.reference.ahead_ms,
        }

    def save(self, settings: Settings) -> None:
        """A reference source renamed in OBS is saved under its new name, so that it is
        found again when the scene collection next loads."""
        if self.reference.renamed():
            settings.set_str(S_REFERENCE, self.reference.name)
            self.reference.chosen = self.reference.name

    def destroy(self) -> None:
        self.reference.close()
        self._backend = None


class PassthroughAudio(Passthrough):
    def filter_audio(self, packet: AudioPacket) -> AudioPacket:
        return packet


# --- defaults and properties ----------------------------------------------------------
def defaults(settings: Settings) -> None:
    from jump.denoise import DenoiseSettings

    d = DenoiseSettings()  # the engine's measured defaults are the filter's defaults
    settings.set_default(S_METHOD, d.method)
    settings.set_default(S_STRENGTH, float(d.strength_db))
    settings.set_default(S_SPEECH_STRENGTH, float(d.speech_db))
    settings.set_default(S_MIX, 100.0 * d.mix)
    settings.set_default(S_VAD_THRESHOLD, 100.0 * d.vad_threshold)
    settings.set_default(S_GRACE, float(d.grace_ms))
    settings.set_default(S_RELEASE, float(d.release_ms))
    settings.set_default(S_LOOKAHEAD, float(d.lookahead_ms))
    settings.set_default(S_MONITOR, d.monitor)
    settings.set_default(S_LINKED, bool(d.linked))
    # best quality when this machine keeps up, decided from a measurement at start
    settings.set_default(S_MODEL, DENOISE_MODEL["filter"])
    settings.set_default(S_MODELS_DIR, "")
    settings.set_default(S_REFERENCE, "")


def properties(instance: Any) -> Properties:
    from jump.denoise import stages

    p = Properties()
    p.add_list(
        S_METHOD,
        "Method",
        [("Neural (best)", "neural"), ("Neural + classical", "both"), ("Classical", "classical")],
    )
    p.add_float(
        S_STRENGTH,
        "Strength",
        0.0,
        80.0,
        1.0,
        " dB",
        "Most attenuation of noise; pauses between words fall this far.",
    )
    p.add_float(
        S_SPEECH_STRENGTH,
        "Strength while talking",
        0.0,
        80.0,
        1.0,
        " dB",
        "Most attenuation under the voice: lower keeps the voice natural.",
    )
    p.add_float(S_MIX, "Mix (dry/wet)", 0.0, 100.0, 1.0, " %")
    # the models a registered stage can run inline (jump/denoise/stages)
    models = ["auto", *stages.model_ids()]
    p.add_list(
        S_MODEL,
        "Model",
        [(MODEL_LABELS.get(m, m), m) for m in models],
        "Automatic runs DeepFilterNet3 when this machine has the CPU for it, else NSNet2.",
    )
    p.add_list(
        S_REFERENCE,
        "Remove the sound of",
        reference_choices(instance),
        "The source your speakers play (Desktop Audio, the game): its echo in this mic is "
        "cancelled. For streamers without headphones.",
    )
    p.add_group("gate", "Voice gate", gate_properties())
    monitor = Properties()
    monitor.add_list(
        S_MONITOR,
        "Monitor",
        [("Output (denoised voice)", "output"), ("Removed only (what is taken away)", "removed")],
        "Removed only: the filter outputs what it removes (the input minus the output), so "
        "you hear whether any of your voice is being taken away. For listening only: "
        "switch back to Output before you stream or record.",
    )
    p.add_group("monitor_group", "Monitor", monitor)
    advanced = Properties()
    advanced.add_bool(
        S_LINKED,
        "Link channels",
        "One gain for all channels: keeps the stereo image and costs one channel of CPU.",
    )
    advanced.add_path(S_MODELS_DIR, "Model folder", directory=True)
    if isinstance(instance, DenoiseFilter) and instance.engine is not None:
        # what actually runs: the user sees "classical only: <reason>" if a model failed
        advanced.add_info("status", f"Running: {instance.engine.status}")
    p.add_group("advanced", "Advanced", advanced)
    return p


def reference_choices(instance: Any) -> list[tuple[str, str]]:
    """ "None" and OBS's audio sources, less the one this filter is on."""
    from jump.obs.audio_capture import audio_source_names

    own = ""
    if isinstance(instance, DenoiseFilter) and instance.source.parent() is not None:
        own = instance.source.parent().name
    try:
        names = [n for n in audio_source_names() if n != own]
    except Exception:
        names = []
    current = instance.reference.name if isinstance(instance, DenoiseFilter) else ""
    if current and current not in names:
        names.append(current)  # keep showing a choice whose source is missing now
    return [("None", ""), *((n, n) for n in names)]


def gate_properties() -> Properties:
    """The voice gate: when it opens (threshold, look-ahead) and how it closes (grace, release)."""
    gate = Properties()
    gate.add_float(
        S_VAD_THRESHOLD,
        "Voice threshold",
        0.0,
        100.0,
        1.0,
        " %",
        "Voice probability above which the gate opens.",
    )
    gate.add_float(
        S_GRACE,
        "Voice grace period",
        0.0,
        1000.0,
        10.0,
        " ms",
        "Keeps the gate open this long after speech, so word endings are not clipped.",
    )
    gate.add_float(
        S_RELEASE,
        "Gate release",
        10.0,
        1000.0,
        10.0,
        " ms",
        "After the grace period, how fast the gate closes (time constant): longer fades "
        "word endings out more gently, shorter brings the noise floor down sooner.",
    )
    gate.add_float(
        S_LOOKAHEAD,
        "Onset look-ahead",
        0.0,
        60.0,
        10.0,
        " ms",
        "0 = off. Opens the gate this much before a word starts, so its first consonant is "
        "not cut; delays the audio by as much (OBS is told, so audio and video stay in sync).",
    )
    return gate


# --- the callback table (OBS's obs_source_info, field by field) -----------------------
SPEC = FilterSpec(
    id="jump_denoise",
    name=DenoiseFilter.title,
    output_flags=AUDIO_FILTER,
    create=DenoiseFilter,
    create_passthrough=PassthroughAudio,
    get_defaults=defaults,
    get_properties=properties,
    update=DenoiseFilter.update,
    save=DenoiseFilter.save,
    destroy=DenoiseFilter.destroy,
    filter_audio=DenoiseFilter.filter_audio,
)
