"""Open the files labs really have: probe what is inside, then read it lazily.

Public API (stable; the recipe engine and the wizard build on it)
-----------------------------------------------------------------
``probe(path, format=None) -> SourceInfo``
    Pick a reader by content (magic bytes first, then the file name; a MAT v7.3
    file is HDF5 but is recognised as MAT by its 512-byte MATLAB header; folders by
    what they contain) and list the variables **without reading array data**.
``open_source(path, format=None) -> SourceReader``
    The same choice, returning an open reader (use ``with``). ``reader.array(key)``
    is a :class:`LazyArray`: ``shape``, ``dtype``, ``ndim``, ``len()``,
    ``view[slices]`` reads only that part, ``np.asarray(view)`` reads all.
    ``reader.probe()`` and ``reader.keys()`` as above.
``probe_folder(folder) -> FolderProbe``
    Probe each file of a plain folder: ``sources`` (SourceInfo list), ``skipped``
    (unrecognised files), ``errors`` (recognised but unreadable); never raises for one
    bad file. ``is_format_folder(path)`` says whether a folder is itself a format.
``probe_isolated(path, format=None, timeout_s=30.0) -> SourceInfo``
    ``probe`` in a child process with a time limit: for files never seen before (a
    damaged file that hangs libhdf5 becomes an ``UnreadableSourceError``).
``probe_guarded(path, ...)``, ``probe_folder_guarded(folder, timeout_s=30.0)``
    Isolate only what needs it: readers whose native library can hang or crash
    (``SourceReader.native_risk``: HDF5, MAT, NWB, the archive) probe in a child; a
    folder is probed in one child, entry by entry only if that child fails.
``choose_reader(path, format=None) -> type[SourceReader]``, ``readers()``, ``formats_text()``
    The registry: which reader would open ``path``; every reader; a printable list.
``SourceInfo``: ``path``, ``format`` (reader name), ``variables``, ``attrs`` (file
    metadata such as ``sample_rate``, ``fs``, ``sessions``), ``notes``, ``keys``,
    ``variable(key)``, ``by_role(role)``, ``to_dict()`` / ``SourceInfo.from_dict()``.
``Variable``: ``key``, ``shape``, ``dtype`` (numpy ``dtype.str``), ``role`` (one of
    :data:`ROLES`: stimulus, binned_responses, spike_times, traces, triggers,
    cell_metadata, timestamps, unknown), ``confidence`` 0..1, ``unit`` guess,
    ``reason`` (one line), ``attrs``.
``SpikeUnits``
    Per-unit spike times in seconds (+ ids, labels); from a Kilosort/Phy folder
    (``KilosortReader.units(labels=("good",))``) or NWB ``Units``
    (``NwbReader.units()``). ``flat()`` gives ``(times_s, unit_index)`` for binning.

Errors (all from :mod:`openretina_data.errors`): ``SourceNotFoundError`` (no such
path), ``UnreadableSourceError`` (empty, truncated, corrupt), ``UnsupportedFormatError``
(no reader fits; lists the formats and extras), ``MissingDependencyError`` (names the
extra to install), ``MissingKeyError`` (lists the available keys),
``UnsafeContentError`` (a pickle or object array that would need code to load).

Formats (reader name: what)
---------------------------
``npy``/``npz`` NumPy (memory-mapped, never ``allow_pickle``) · ``hdf5`` any group
/dataset, nested keys ``a/b/c`` · ``mat-v5`` (scipy; loaded per variable) and
``mat-v7.3`` (h5py; MATLAB axis order, cells/structs as nested keys, char arrays as
text) · ``tiff`` stacks (tifffile; page by page) · ``video`` mp4/avi/mkv/mov (PyAV;
decoded by frame range) · ``table`` CSV/TSV (one variable per column) · ``kilosort``
Phy folder (KS2 and KS4) · ``suite2p`` plane folder (``ops.npy`` through a restricted
unpickler) · ``nwb`` (Units, traces, intervals, image series) · ``maheswaranathan``
2023 raw archive folder.

Keys: a ``.npy``, TIFF or video holds one variable named after the file stem; HDF5,
NWB and MAT keys are paths (``group/dataset``, ``struct/field``, ``cell/0``); a table's
keys are its column names; Kilosort: ``spike_times`` (samples), ``spike_clusters``,
``cluster_id``, ``cluster_label``; suite2p: ``F``, ``Fneu``, ``spks``, ``iscell``;
the archive: ``<session>/<stimulus type>/<path in file>``.

Limits: damaged files give ``UnreadableSourceError`` (the numpy, zip, TIFF, video and
table readers are fuzz-tested), but libhdf5 can hang and scipy's MAT v5 reader can crash
on some damaged (not merely truncated) files — HDFGroup/hdf5#1707, scipy's ``loadmat``
docs — so a caller that probes untrusted files unattended should use
``probe_guarded``/``probe_folder_guarded`` (the wizard and ``inspect`` do).

Adding a reader: subclass :class:`SourceReader` (set ``name``, ``description``,
``suffixes``, ``extra``/``requires`` for optional libraries, ``folders``), implement
``sniff``/``probe``/``array`` (+ ``close``), decorate with :func:`register`, import the
module below, write a factory in :mod:`openretina_data.testing.formats` and a test
class inheriting :class:`openretina_data.testing.reader_suite.ReaderContract`.

Example
-------
>>> info = probe("recording.h5")                        # doctest: +SKIP
>>> [(v.key, v.shape, v.role) for v in info.variables]  # doctest: +SKIP
>>> with open_source("recording.h5") as reader:          # doctest: +SKIP
...     first_minute = reader.array("responses")[:, :1800]
"""

from __future__ import annotations

# Importing a format module registers its reader; the order breaks ties between
# equally sure sniffs (earlier wins), so specific formats come before generic ones.
from openretina_data.sources import hdf5 as _hdf5  # noqa: F401
from openretina_data.sources import kilosort as _kilosort  # noqa: F401
from openretina_data.sources import maheswaranathan as _maheswaranathan  # noqa: F401
from openretina_data.sources import mat as _mat  # noqa: F401
from openretina_data.sources import numpy_files as _numpy_files  # noqa: F401
from openretina_data.sources import nwb as _nwb  # noqa: F401
from openretina_data.sources import suite2p as _suite2p  # noqa: F401
from openretina_data.sources import table as _table  # noqa: F401
from openretina_data.sources import tiff as _tiff  # noqa: F401
from openretina_data.sources import video as _video  # noqa: F401
from openretina_data.sources.base import (
    ROLES,
    Role,
    SourceInfo,
    SourceReader,
    Variable,
    choose_reader,
    formats_text,
    open_source,
    probe,
    readers,
    register,
)
from openretina_data.sources.folder import FolderProbe, is_format_folder, probe_folder
from openretina_data.sources.isolated import (
    probe_folder_guarded,
    probe_guarded,
    probe_isolated,
)
from openretina_data.sources.kilosort import KilosortReader
from openretina_data.sources.lazy import LazyArray
from openretina_data.sources.nwb import NwbReader
from openretina_data.sources.spikes import SpikeUnits
from openretina_data.sources.suite2p import Suite2pReader

__all__ = [
    "ROLES",
    "FolderProbe",
    "KilosortReader",
    "LazyArray",
    "NwbReader",
    "Role",
    "SourceInfo",
    "SourceReader",
    "SpikeUnits",
    "Suite2pReader",
    "Variable",
    "choose_reader",
    "formats_text",
    "is_format_folder",
    "open_source",
    "probe",
    "probe_folder",
    "probe_folder_guarded",
    "probe_guarded",
    "probe_isolated",
    "readers",
    "register",
]
