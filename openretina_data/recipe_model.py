"""The conversion recipe's data types: typed dataclasses, versioned, documented.

The fields' ``metadata["doc"]`` texts feed the JSON Schema (:mod:`recipe_schema`) and
the wizard's tooltips. Loading, saving and ``{session}`` templates live in
:mod:`openretina_data.recipe`, which re-exports everything here; import from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from openretina_data.errors import RecipeError

RECIPE_VERSION = 1
VERSION_KEY = "openretina_data_recipe"
MAX_RECIPE_BYTES = 1_000_000  # a recipe is a page of text; anything bigger is refused

Split = Literal["train", "test"]
ResponseKind = Literal["binned", "spike_times", "traces"]
FrameTimesKind = Literal["rate", "timestamps", "trigger"]
TimeUnit = Literal["s", "ms", "samples"]

#: Units allowed for each response kind (spike times state their clock unit).
RESPONSE_UNITS: dict[str, tuple[str, ...]] = {
    "binned": ("spikes/bin", "Hz", "dF/F", "a.u."),
    "spike_times": ("s", "ms", "samples"),
    "traces": ("dF/F", "a.u.", "Hz", "mV"),
}
AXIS_LETTERS = frozenset("cthw")
SESSION_TOKEN = "{session}"


def _doc(text: str, **extra: Any) -> dict[str, Any]:
    return {"doc": text, **extra}


@dataclass
class StimulusSpec:
    """One stimulus movie, written to ``stimuli/<name>.npy`` (or into session files)."""

    name: str = field(
        metadata=_doc("Stimulus name; becomes stimuli/<name>.npy and responses_<name>.")
    )
    path: str = field(metadata=_doc("Movie file, relative to the recipe; may contain {session}."))
    key: str | None = field(
        default=None, metadata=_doc("Dataset / variable inside the file (HDF5, MAT, NPZ, NWB).")
    )
    format: str | None = field(
        default=None, metadata=_doc("Source reader name (npy, hdf5, mat, tiff, …); null guesses.")
    )
    axes: str = field(
        default="thw",
        metadata=_doc(
            "Axis order of the stored array, letters from c,t,h,w (e.g. thw, cthw, twh)."
        ),
    )
    split: Split = field(default="train", metadata=_doc("train or test."))
    shared: bool = field(
        default=True,
        metadata=_doc(
            "true: one movie for all sessions; false: a per-session movie ({session} path)."
        ),
    )


@dataclass
class FrameTimes:
    """When each stimulus frame was shown, in the response recording's clock."""

    kind: FrameTimesKind = field(
        default="rate",
        metadata=_doc(
            "rate (frames at frame_rate_hz from start_s), timestamps (an array), or trigger (a TTL channel)."
        ),
    )
    path: str | None = field(
        default=None, metadata=_doc("File holding timestamps or the trigger channel.")
    )
    key: str | None = field(default=None, metadata=_doc("Dataset / variable inside that file."))
    unit: TimeUnit = field(default="s", metadata=_doc("Unit of timestamps: s, ms or samples."))
    sampling_rate_hz: float | None = field(
        default=None,
        metadata=_doc(
            "Sampling rate of the trigger channel, or of timestamps in samples.",
            above=0.0,
            maximum=1e9,
            unit=" Hz",
        ),
    )
    threshold: float | None = field(
        default=None,
        metadata=_doc("Trigger threshold; null = halfway between the channel's min and max."),
    )
    edge: Literal["rising", "falling"] = field(
        default="rising", metadata=_doc("Trigger edge that marks a frame.")
    )
    start_s: float = field(
        default=0.0, metadata=_doc("kind=rate: time of the first frame, in seconds.")
    )
    fill_dropped: bool | Literal["auto"] = field(
        default="auto",
        metadata=_doc(
            "auto: the counts decide (as many frame times as frames: long intervals are held "
            "frames; fewer: missed triggers are interpolated where that makes the count match "
            "exactly); true: whole-period gaps are missed triggers; false: nothing is missed."
        ),
    )
    rate_tolerance: float | None = field(
        default=0.01,
        metadata=_doc(
            "The frame rate measured from the frame times may differ from frame_rate_hz by "
            "this fraction (0.01 = 1 %); null accepts the measured rate (reported).",
            minimum=0.0,
        ),
    )
    drop_duplicates: bool = field(
        default=False,
        metadata=_doc("Drop triggers that come much sooner than one frame (reported)."),
    )
    debounce_s: float = field(
        default=0.0,
        metadata=_doc("Ignore trigger edges closer than this, in seconds.", minimum=0.0),
    )


@dataclass
class Epoch:
    """A stretch of a recording during which one stimulus was shown ``repeats`` times."""

    stimulus: str = field(metadata=_doc("Name of a stimulus in `stimuli`."))
    repeats: int = field(default=1, metadata=_doc("Back-to-back presentations (test repeats)."))
    skip_frames: int = field(
        default=0, metadata=_doc("Frames (triggers / bins) to skip before this epoch starts.")
    )


@dataclass
class ResponseSource:
    """One response recording of a session, cut into epochs of stimuli."""

    path: str = field(
        metadata=_doc(
            "Response file or folder (Phy/Kilosort folder, NWB file with Units), relative to the recipe."
        )
    )
    kind: ResponseKind = field(
        metadata=_doc("binned (per frame), spike_times, or traces (calcium / voltage).")
    )
    unit: str = field(
        metadata=_doc(
            "binned: spikes/bin, Hz, dF/F, a.u.; spike_times: s, ms, samples; traces: dF/F, a.u., Hz, mV."
        )
    )
    epochs: list[Epoch] = field(metadata=_doc("Stimuli shown during this recording, in order."))
    key: str | None = field(default=None, metadata=_doc("Dataset / variable inside the file."))
    format: str | None = field(
        default=None, metadata=_doc("Source reader name (phy, npy, hdf5, …); null guesses.")
    )
    axes: str = field(
        default="nt", metadata=_doc("binned/traces array axis order: nt (neurons, time) or tn.")
    )
    sampling_rate_hz: float | None = field(
        default=None,
        metadata=_doc(
            "Sample rate of traces, or of spike times given in samples "
            "(a Kilosort folder's params.py gives it when empty).",
            above=0.0,
            maximum=1e9,
            unit=" Hz",
        ),
    )
    unit_filter: list[str] = field(
        default_factory=list,
        metadata=_doc(
            "Keep only units with these labels: Kilosort/Phy group or KSLabel (e.g. [good]), "
            "suite2p iscell as cell / not_cell (e.g. [cell]); empty keeps all."
        ),
    )
    frame_times: FrameTimes = field(
        default_factory=FrameTimes, metadata=_doc("How frame times are found (ignored for binned).")
    )


@dataclass
class InfoSource:
    """One per-neuron metadata column for the session file's ``session_info`` group."""

    name: str = field(metadata=_doc("Key under session_info/ (e.g. cell_types)."))
    path: str = field(
        metadata=_doc("File holding it (npy, TSV such as Phy cluster_info.tsv, HDF5).")
    )
    key: str | None = field(default=None, metadata=_doc("Column or dataset inside the file."))
    format: str | None = field(default=None, metadata=_doc("Source reader name; null guesses."))


@dataclass
class SessionSpec:
    """One recording session: becomes ``<name>.hdf5``."""

    name: str = field(metadata=_doc("Session name (file stem); may be the template {session}."))
    responses: list[ResponseSource] = field(
        metadata=_doc("Response recordings covering the stimuli.")
    )
    session_info: list[InfoSource] = field(
        default_factory=list, metadata=_doc("Per-neuron metadata.")
    )


@dataclass
class Normalisation:
    """Stimulus normalisation statistics stored in the card (norm_mean / norm_std)."""

    mode: Literal["compute", "given", "none"] = field(
        default="compute",
        metadata=_doc(
            "compute (streaming pass over training stimuli), given (mean/std below), none."
        ),
    )
    mean: float | None = field(default=None, metadata=_doc("mode=given: norm_mean."))
    std: float | None = field(default=None, metadata=_doc("mode=given: norm_std (> 0)."))


@dataclass
class Binning:
    """How spike times and traces become one value per stimulus frame."""

    trace_method: Literal["linear", "area"] = field(
        default="area",
        metadata=_doc("Traces onto frames: linear (at frame centres) or area (mean over frame)."),
    )
    spike_unit: Literal["spikes/bin", "Hz"] = field(
        default="spikes/bin", metadata=_doc("Spike counts per frame, or rate in Hz.")
    )


@dataclass
class Repeats:
    """What to do with repeated presentations of a test stimulus."""

    store_trials: bool = field(
        default=True,
        metadata=_doc("Write test_by_trial_<stim> (trials, neurons, time) besides the mean."),
    )


@dataclass
class Loader:
    """Dataloader settings kept in the dataset card: ``loader-check``, the wizard's Use page
    and its code snippet build ``multiple_movies_dataloaders`` with them."""

    train_chunk_size: int = field(default=50, metadata=_doc("Frames per training sample."))
    batch_size: int = field(default=64, metadata=_doc("Samples per batch."))
    clip_length: int = field(
        default=90, metadata=_doc("Frames per clip the training stimuli are cut into.")
    )
    num_val_clips: int = field(default=50, metadata=_doc("Clips held out for validation."))
    seed: int = field(default=42, metadata=_doc("Seed of the validation clip draw."))

    def problems(self, train_frames: int | None) -> list[str]:
        """Why these settings cannot serve ``train_frames`` training frames (empty: they
        can); ``None`` checks only that every size is at least 1."""
        sizes = ("train_chunk_size", "batch_size", "clip_length", "num_val_clips")
        bad = [f"{name} is {getattr(self, name)}" for name in sizes if getattr(self, name) < 1]
        if bad:
            return [f"{', '.join(bad)}: every loader size must be at least 1"]
        if train_frames is None:
            return []
        # As multiple_movies_dataloaders cuts them: whole clips, some held out, chunks
        # started every train_chunk_size frames, only full batches.
        left = train_frames // self.clip_length - self.num_val_clips
        if left < 1:
            return [
                f"{self.num_val_clips} validation clips of {self.clip_length} frames leave no "
                f"training clip in {train_frames} training frames: use fewer or shorter clips"
            ]
        frames = left * self.clip_length
        chunks = -(-frames // self.train_chunk_size)
        if frames < self.train_chunk_size or chunks < self.batch_size:
            return [
                f"{frames} training frames give {chunks} chunks of {self.train_chunk_size}, "
                f"fewer than one batch of {self.batch_size}: lower the batch size or the "
                "chunk size"
            ]
        return []

    def fitted(self, train_frames: int) -> Loader:
        """These settings shrunk (never grown) to fit ``train_frames``: clips of at most a
        fifth of the frames, about one clip in five held out for validation, chunks no
        longer than a clip, and at least two batches of training chunks."""
        clip = max(1, min(self.clip_length, train_frames // 5))
        clips = max(1, min(self.num_val_clips, train_frames // clip // 5))
        frames = (train_frames // clip - clips) * clip
        chunk = max(1, min(self.train_chunk_size, clip, max(frames, 1)))
        batch = max(1, min(self.batch_size, -(-frames // chunk) // 2))
        return Loader(chunk, batch, clip, clips, self.seed)


@dataclass
class Recipe:
    """A whole conversion: stimuli × sessions → one native dataset folder."""

    output: str = field(metadata=_doc("Dataset folder to create, relative to the recipe."))
    frame_rate_hz: float = field(
        metadata=_doc("Stimulus frame rate in Hz.", above=0.0, maximum=10_000.0, unit=" Hz")
    )
    stimuli: list[StimulusSpec] = field(metadata=_doc("Stimulus movies."))
    sessions: list[SessionSpec] = field(
        metadata=_doc("Sessions (templates with {session} allowed).")
    )
    session_pattern: str | None = field(
        default=None,
        metadata=_doc(
            "Folder pattern with {session} (e.g. raw/{session}) that template sessions expand over."
        ),
    )
    dtype: Literal["auto", "float32", "uint8"] = field(
        default="auto",
        metadata=_doc(
            "Stimulus dtype written: auto (uint8 when every value is a whole number "
            "0..255, as in 8-bit movies; else float32), float32 or uint8."
        ),
    )
    lag_frames: int = field(
        default=0,
        metadata=_doc(
            "Responses lag the stimulus by this many frames: drop that many from the response start and stimulus end."
        ),
    )
    normalisation: Normalisation = field(
        default_factory=Normalisation, metadata=_doc("norm_mean/norm_std.")
    )
    binning: Binning = field(
        default_factory=Binning, metadata=_doc("Binning / resampling choices.")
    )
    repeats: Repeats = field(default_factory=Repeats, metadata=_doc("Test repeats handling."))
    loader: Loader = field(
        default_factory=Loader,
        metadata=_doc(
            "Dataloader settings stored in the card (loader-check, the wizard's Use page)."
        ),
    )
    description: str = field(default="", metadata=_doc("Free text for the dataset card."))
    stimulus_class: str | None = field(
        default=None,
        metadata=_doc(
            "What the stimulus is (e.g. natural_movie, white_noise, chirp), for openretina's "
            "data_info; unset when unknown."
        ),
    )
    retina_pixel_size_um: float | None = field(
        default=None,
        metadata=_doc(
            "Size of one stimulus pixel on the retina, for openretina's data_info; unset when unknown.",
            above=0.0,
            unit=" um",
        ),
    )
    base_dir: Path = field(
        default_factory=Path, compare=False, repr=False, metadata=_doc("", serialise=False)
    )

    def resolve(self, path: str) -> Path:
        """A recipe path made absolute against the recipe's folder."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else (self.base_dir / candidate)

    def response_unit(self, source: ResponseSource | None = None) -> str:
        """Unit of the stored responses of ``source`` (default: the first one; ``a.u.`` without)."""
        if source is None:
            source = next((r for s in self.sessions for r in s.responses), None)
            if source is None:
                return "a.u."
        return self.binning.spike_unit if source.kind == "spike_times" else source.unit

    def stimulus(self, name: str) -> StimulusSpec:
        """The stimulus called ``name``."""
        for spec in self.stimuli:
            if spec.name == name:
                return spec
        raise RecipeError(
            f"no stimulus named {name!r}",
            key="stimuli",
            hint="Add it to `stimuli` or fix the name.",
        )
