"""The native layout v1 as code: names, the atomic writer, the dataset card, ``check``.

Layout v1 (loads unchanged in openretina 1.1.1)::

    DATASET/
      stimuli/<stim>.npy        (channels, time, height, width), uint8/float32
      <session>.hdf5            responses_<stim> (neurons, time); [stimulus_<stim>];
                                [test_by_trial_<stim>] (trials, neurons, time);
                                session_info/<key>; attrs (provenance, below)
      openretina_data.json      the dataset card

Public API (stable; the wizard and ``convert`` build on it)
----------------------------------------------------------
Names
    ``LAYOUT_VERSION``, ``STIMULI_DIR``, ``CARD_NAME``, ``SESSION_SUFFIX``,
    ``SESSION_INFO_GROUP``, ``RESPONSE_UNITS``, ``responses_key(stim)``,
    ``stimulus_key(stim)``, ``test_by_trial_key(stim)``,
    ``validate_name(name, kind=...)``, ``validate_unique(names, kind=...)``,
    ``validate_test_stimuli(names)`` (all raise ``InvalidNameError`` with a hint).
Writing
    ``DatasetWriter(target, *, frame_rate_hz=None, response_unit="a.u.",
    recipe_text=None, recipe_sha256=None, overwrite=False, append=False,
    allow_nonfinite=False)`` — a context manager. Inside it:

    - ``writer.write_stimulus(name, movie)`` or
      ``writer.create_stimulus(name, shape, dtype) -> SlabWriter``;
    - ``session = writer.create_session(name, source_files=[source_file(p), ...])``
      then ``session.write_responses(stim, array)`` /
      ``session.create_responses(stim, n_neurons, n_frames) -> SlabWriter``,
      ``session.write_stimulus`` / ``create_stimulus`` (session-specific movie),
      ``session.write_test_by_trial`` / ``create_test_by_trial``,
      ``session.write_session_info(key, value)``;
    - ``writer.card`` (a ``DatasetCard``): set ``test_stimuli``, ``citation``,
      ``description``, or ``norm_mean``/``norm_std`` (else computed over the training
      stimuli while writing).

    ``SlabWriter.write(slab, start=None)`` fills a time range (appends by default);
    ``writer.session_attrs()`` gives the provenance attrs for a session file written
    elsewhere (a worker process) with ``SessionWriter(name, path, attrs=..., ...)``.
    Missing parent folders of the target are created (and removed again on failure).
    Leaving the ``with`` block normally validates, writes the card, fsyncs and
    renames into place; an exception (or ``writer.abort()``) removes everything
    and leaves the target untouched. A second writer for the same target raises
    ``OutputError``; leftovers of killed writers are removed by the next one.
The card
    ``DatasetCard`` (``to_json``/``from_json``, ``stale_files(folder)``),
    ``read_card(folder) -> DatasetCard | None``, ``FileFingerprint``, ``ArrayCheck``,
    ``SourceFile``, ``source_file(path)``.
Checking
    ``check(path) -> Report`` — every problem at once, never raises on bad input.
    ``Report.ok``, ``.problems`` (``Problem``: severity, code, file, key, message, fix),
    ``.summary``, ``.codes(severity=None)``, ``.to_dict()``, ``.to_text()``.
Reading helpers
    ``read_npy_header(path) -> NpyHeader`` (``parse_npy_header(stream)`` for an open
    file or zip member), ``all_finite(array, time_axis)``,
    ``NpyTimeFile(path)`` (a C-order ``.npy`` read/written by time-slabs with plain
    file I/O, so resident memory stays at one slab).
"""

from openretina_data.layout.card import (
    ArrayCheck,
    DatasetCard,
    FileFingerprint,
    SourceFile,
    read_card,
)
from openretina_data.layout.check import Problem, Report, Summary, check
from openretina_data.layout.names import (
    CARD_NAME,
    LAYOUT_VERSION,
    RESPONSE_UNITS,
    SESSION_INFO_GROUP,
    SESSION_SUFFIX,
    SESSION_SUFFIXES,
    STIMULI_DIR,
    responses_key,
    stimulus_key,
    test_by_trial_key,
    validate_name,
    validate_test_stimuli,
    validate_unique,
)
from openretina_data.layout.reading import (
    NpyHeader,
    NpyTimeFile,
    all_finite,
    dataset_folder_problem,
    parse_npy_header,
    read_npy_header,
    require_dataset_folder,
)
from openretina_data.layout.session import SessionWriter, source_file
from openretina_data.layout.slabs import SlabWriter
from openretina_data.layout.writer import DatasetWriter

__all__ = [
    "ArrayCheck",
    "CARD_NAME",
    "DatasetCard",
    "DatasetWriter",
    "FileFingerprint",
    "LAYOUT_VERSION",
    "NpyHeader",
    "NpyTimeFile",
    "Problem",
    "RESPONSE_UNITS",
    "Report",
    "SESSION_INFO_GROUP",
    "SESSION_SUFFIX",
    "SESSION_SUFFIXES",
    "STIMULI_DIR",
    "SessionWriter",
    "SlabWriter",
    "SourceFile",
    "Summary",
    "all_finite",
    "check",
    "dataset_folder_problem",
    "parse_npy_header",
    "read_card",
    "read_npy_header",
    "require_dataset_folder",
    "responses_key",
    "source_file",
    "stimulus_key",
    "test_by_trial_key",
    "validate_name",
    "validate_test_stimuli",
    "validate_unique",
]
