"""A corpus of broken and hostile inputs, made by code into a temporary folder.

Each :class:`Case` has a name, a builder and the entry points that can see it. A
builder writes into a fresh folder (never into the repository) and returns a
:class:`Built`: the folder of inputs (``inputs``; every file under it is a source
whose bytes and mtime must survive any entry point), the file or folder a reader
probes (``target``), a recipe that converts it (``recipe``) and/or a native dataset
(``dataset``), and the folder a conversion writes into (``outputs``).

Byte-level damage (truncation, flipped bits, hand-made ``.npy`` headers, pickles
whose payload would create :data:`MARKER`) is done here; whole-recipe and
whole-dataset cases live in :mod:`openretina_data.testing.corrupt_recipes` and
:mod:`openretina_data.testing.corrupt_datasets`. :func:`all_cases` lists them all.

A flipped bit is only detectable where a format has structure to check (headers,
offsets, signatures); a flip inside the raw numbers of an uncompressed array is a
different valid file, so flips here land in headers.

Examples
--------
>>> case = case_named("npy-absurd-shape")                # doctest: +SKIP
>>> built = case.build(Path(tempfile.mkdtemp()))         # doctest: +SKIP
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from openretina_data.recipe import Recipe, save_recipe
from openretina_data.testing import formats
from openretina_data.testing.recipes import binned_recording

#: A file that a hostile payload would create in the case folder; it must never appear.
MARKER = "PAYLOAD_RAN"

#: Entry points, in the order the reliability table lists them.
PROBE, WIZARD, INSPECT_CLI = "probe", "wizard add-file", "inspect (CLI)"
LOAD_RECIPE, PLAN, PLAN_CLI = "load_recipe", "plan", "plan (CLI)"
CONVERT, CONVERT_CLI = "convert", "convert (CLI)"
CHECK, CHECK_CLI = "check", "check (CLI)"
LOAD_STIMULI, LOAD_RESPONSES, DATALOADERS = "load_stimuli", "load_responses", "dataloaders"

READERS = (PROBE, WIZARD, INSPECT_CLI)
RECIPE_RUN = (PLAN, PLAN_CLI, CONVERT, CONVERT_CLI)
DATA_ONLY = (CONVERT, CONVERT_CLI)  # problems only visible once the values are read
DATASET = (CHECK, CHECK_CLI, LOAD_STIMULI, LOAD_RESPONSES, DATALOADERS)


@dataclass
class Built:
    """What a case builder wrote (see the module docstring)."""

    root: Path
    inputs: Path
    outputs: Path
    target: Path | None = None
    recipe: Path | None = None
    dataset: Path | None = None
    outside: list[Path] = field(default_factory=list)  # files symlinks point at
    #: Command-line flags the run uses (``--overwrite``); the Python entry points follow them.
    flags: tuple[str, ...] = ()

    @property
    def marker(self) -> Path:
        return self.root / MARKER


@dataclass(frozen=True)
class Case:
    """One bad input: ``build(folder) -> Built`` and the entry points that see it."""

    name: str
    what: str
    build: Callable[[Path], Built]
    entry_points: tuple[str, ...]
    #: Entry points that may accept the case (safely: nothing written badly, nothing changed).
    may_accept: tuple[str, ...] = ()
    #: Refusing is wrong too: the entry points of ``may_accept`` must accept (a stray file).
    must_accept: bool = False
    #: Text a message must not hold (a misleading hint, e.g. ``--overwrite`` where that destroys).
    never_say: tuple[str, ...] = ()


def new_built(root: Path) -> Built:
    inputs, outputs = root / "inputs", root / "outputs"
    inputs.mkdir(parents=True, exist_ok=True)
    outputs.mkdir(exist_ok=True)
    return Built(root=root, inputs=inputs, outputs=outputs)


# --- byte-level damage ---------------------------------------------------------------


def truncate(path: Path, fraction: float = 0.5) -> Path:
    """Keep the first ``fraction`` of the file's bytes (at least one)."""
    data = path.read_bytes()
    path.write_bytes(data[: max(1, int(len(data) * fraction))])
    return path


def flip_bits(path: Path, offsets: list[int], mask: int = 0xFF) -> Path:
    """XOR the bytes at ``offsets`` with ``mask``."""
    data = bytearray(path.read_bytes())
    for offset in offsets:
        data[offset] ^= mask
    path.write_bytes(bytes(data))
    return path


def npy_header(descr: str, shape: tuple[int, ...]) -> bytes:
    """A hand-made version-1.0 ``.npy`` header claiming ``shape`` of ``descr`` items."""
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}"
    padding = 64 - (10 + len(text) + 1) % 64
    body = (text + " " * padding + "\n").encode("latin1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body


def payload_pickle(marker: Path) -> bytes:
    """A protocol-0 pickle that, if loaded with ``pickle.load``, creates ``marker``."""
    code = f"open({str(marker)!r}, 'w').close()"
    return b"cbuiltins\nexec\n(V" + code.encode("raw_unicode_escape") + b"\ntR."


def payload_npy(path: Path, marker: Path) -> Path:
    """An object ``.npy`` (what ``np.save`` of a dict writes) holding :func:`payload_pickle`."""
    path.write_bytes(npy_header("|O", ()) + payload_pickle(marker))
    return path


# --- recipes around one bad file -----------------------------------------------------


def recording(root: Path, *, train_frames: int = 60) -> tuple[Built, Recipe]:
    """A good one-session binned recording in ``inputs`` writing to ``outputs/dataset``."""
    built = new_built(root)
    recipe = binned_recording(
        built.inputs, n_sessions=1, train_frames=train_frames, test_frames=10, repeats=2
    )
    recipe.output = "../outputs/dataset"
    return built, recipe


def finish(built: Built, recipe: Recipe, *, name: str = "recipe.json") -> Built:
    (built.inputs / "recipe.yaml").unlink(missing_ok=True)  # binned_recording's copy
    built.recipe = save_recipe(recipe, built.inputs / name)
    return built


def around_file(root: Path, write: Callable[[Path], Path], role: str, key: str | None) -> Built:
    """A recipe whose training stimulus (or responses) is the file ``write(inputs)`` makes."""
    built, recipe = recording(root)
    bad = write(built.inputs)
    relative = bad.relative_to(built.inputs).as_posix()
    if role == "stimulus":
        spec = recipe.stimuli[0]
        spec.path, spec.key = relative, key
    else:
        source = recipe.sessions[0].responses[0]
        source.path, source.key = relative, key
    built.target = bad
    return finish(built, recipe)


def file_case(
    name: str,
    what: str,
    write: Callable[[Path], Path],
    *,
    role: str = "stimulus",
    key: str | None = None,
    entry_points: tuple[str, ...] = READERS + RECIPE_RUN,
    may_accept: tuple[str, ...] = (),
) -> Case:
    return Case(
        name, what, lambda root: around_file(root, write, role, key), entry_points, may_accept
    )


def _npy(name: str, array: np.ndarray) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        np.save(folder / name, array)
        return folder / name

    return write


def _then(write: Callable[[Path], Path], damage: Callable[[Path], Path]) -> Callable[[Path], Path]:
    return lambda folder: damage(write(folder))


def _write_h5(folder: Path) -> Path:
    return formats.write_hdf5(folder / "movie.h5")[0]


def _write_mat5(folder: Path) -> Path:
    return formats.write_mat_v5(folder / "movie.mat")[0]


def _write_mat73(folder: Path) -> Path:
    return formats.write_mat_v73(folder / "movie.mat")[0]


def _write_tiff(folder: Path) -> Path:
    return formats.write_tiff(folder / "movie.tif")[0]


def _empty(name: str) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        (folder / name).write_bytes(b"")
        return folder / name

    return write


def _absurd_npy(shape: tuple[int, ...]) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / "movie.npy"
        path.write_bytes(npy_header("<f4", shape) + bytes(4 * 48))
        return path

    return write


def _absurd_h5(folder: Path) -> Path:
    path = folder / "movie.h5"
    with h5py.File(path, "w") as file:  # chunked and never written: a tiny file
        file.create_dataset("stimulus", shape=(10**12, 8, 6), dtype="f4", chunks=(1, 8, 6))
    return path


def _write_mat5_compressed(folder: Path) -> Path:
    """A compressed MAT v5 file (``savemat(..., do_compression=True)``) with a noisy movie."""
    from scipy.io import savemat

    path = folder / "movie.mat"
    movie = np.random.default_rng(0).random((60, 8, 6)).astype(np.float32)
    savemat(path, {"stimulus": movie, "fs": 30.0}, do_compression=True)
    return path


def _absurd_mat5(*, compress: bool) -> Callable[[Path], Path]:
    """A MAT v5 file whose first array's dims claim 2^30 x 8 x 6 float32 values (192 GiB)."""

    def write(folder: Path) -> Path:
        from scipy.io import savemat

        path = folder / "movie.mat"
        savemat(path, {"stimulus": np.zeros((60, 8, 6), np.float32)}, do_compression=compress)
        data = path.read_bytes()
        kind, nbytes = struct.unpack("<II", data[128:136])
        element = bytearray(zlib.decompress(data[136 : 136 + nbytes]) if compress else data[128:])
        dims_tag = 8 + 16  # matrix tag, array-flags sub-element
        assert struct.unpack("<I", element[dims_tag : dims_tag + 4])[0] == 5  # miINT32 dims
        element[dims_tag + 8 : dims_tag + 12] = struct.pack("<i", 2**30)
        if compress:
            packed = zlib.compress(bytes(element))
            path.write_bytes(data[:128] + struct.pack("<II", kind, len(packed)) + packed)
        else:
            path.write_bytes(data[:128] + bytes(element))
        return path

    return write


def _absurd_tiff(path: Path) -> Path:
    """Set the first page's ImageWidth and ImageLength tags to 65535 (4 GiB per page)."""
    data = bytearray(path.read_bytes())
    order = "<" if data[:2] == b"II" else ">"
    ifd = struct.unpack(order + "I", data[4:8])[0]
    (count,) = struct.unpack(order + "H", data[ifd : ifd + 2])
    for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
        tag, kind = struct.unpack(order + "HH", data[entry : entry + 4])
        if tag in (256, 257):  # ImageWidth, ImageLength
            packed = struct.pack(order + ("H" if kind == 3 else "I"), 65535)
            data[entry + 8 : entry + 8 + len(packed)] = packed
    path.write_bytes(bytes(data))
    return path


def _object_npy(folder: Path) -> Path:
    return payload_npy(folder / "movie.npy", folder.parent / MARKER)


def _suite2p(folder: Path) -> Path:
    plane = formats.write_suite2p(folder / "plane0")[0]
    payload_npy(plane / "ops.npy", folder.parent / MARKER)
    return plane


def _tiff_ifd_beyond_end(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    order = "<" if data[:2] == b"II" else ">"
    data[4:8] = struct.pack(order + "I", len(data) + 10_000)
    path.write_bytes(bytes(data))
    return path


def _npy_header_garbled(path: Path) -> Path:
    data = path.read_bytes()
    start = data.index(b"'shape': (") + len(b"'shape': (")
    return flip_bits(path, [start, start + 1], 0x40)


def _h5_superblock(offset: int) -> Callable[[Path], Path]:
    """Flip the superblock's size-of-offsets byte (8 → 0xF7): no HDF5 library accepts it."""
    return lambda path: flip_bits(path, [offset + 13])


def source_cases() -> list[Case]:
    """Single damaged or hostile source files, each as a recipe's stimulus or responses."""
    nan = np.ones((5, 80), np.float32)
    nan[2, 17] = np.nan
    inf = np.ones((60, 8, 6), np.float32)
    inf[3, 2, 1] = np.inf
    cases = [
        file_case("npy-zero-length", "an empty .npy", _empty("movie.npy")),
        file_case("npy-truncated", "a .npy cut in half", _then(_npy("movie.npy", inf), truncate)),
        file_case(
            "npy-header-flipped",
            "a .npy whose shape text has flipped bits",
            _then(_npy("movie.npy", np.ones((60, 8, 6), np.float32)), _npy_header_garbled),
        ),
        file_case(
            "npy-absurd-shape",
            "a hand-made .npy header claiming 10^12 frames",
            _absurd_npy((10**12, 8, 6)),
        ),
        file_case(
            "npy-overflowing-shape",
            "a .npy header whose element count overflows 64 bits",
            _absurd_npy((2**32, 2**32, 2**32)),
        ),
        file_case("npy-pickle-payload", "an object .npy whose pickle would run code", _object_npy),
        file_case("h5-zero-length", "an empty .h5", _empty("movie.h5"), key="stimulus"),
        file_case(
            "h5-truncated", "an HDF5 file cut in half", _then(_write_h5, truncate), key="stimulus"
        ),
        file_case(
            "h5-superblock-flipped",
            "an HDF5 file with a flipped superblock byte",
            _then(_write_h5, _h5_superblock(0)),
            key="stimulus",
        ),
        file_case(
            "h5-absurd-shape",
            "an HDF5 dataset claiming 10^12 frames",
            _absurd_h5,
            key="stimulus",
            may_accept=READERS,  # a valid sparse file; listing it reads nothing
        ),
        file_case("mat5-zero-length", "an empty .mat", _empty("movie.mat"), key="stimulus"),
        file_case(
            "mat5-truncated",
            "a compressed MAT v5 file cut short",
            _then(_write_mat5_compressed, truncate),
            key="stimulus",
            may_accept=READERS,  # listed with a note; reading (plan, convert) is refused
        ),
        file_case(
            "mat5-tag-flipped",
            "a MAT v5 file whose first element tag has flipped bits",
            _then(_write_mat5, lambda p: flip_bits(p, [128, 129, 131, 132, 133, 134, 135])),
            key="stimulus",
        ),
        file_case(
            "mat73-truncated",
            "a MAT v7.3 file cut in half",
            _then(_write_mat73, truncate),
            key="stimulus",
        ),
        file_case(
            "mat73-superblock-flipped",
            "a MAT v7.3 file with a flipped HDF5 superblock byte",
            _then(_write_mat73, _h5_superblock(512)),
            key="stimulus",
        ),
        file_case(
            "mat5-absurd-dims",
            "a MAT v5 array header claiming 2^30 frames",
            _absurd_mat5(compress=False),
            key="stimulus",
            may_accept=READERS,  # listing shows the claimed shape; reading it is refused
        ),
        file_case(
            "mat5-compressed-absurd-dims",
            "a compressed MAT v5 array header claiming 2^30 frames (192 GiB)",
            _absurd_mat5(compress=True),
            key="stimulus",
            may_accept=READERS,  # refused on read: > 1000x the file and > available memory
        ),
        file_case("tiff-zero-length", "an empty .tif", _empty("movie.tif")),
        file_case(
            "tiff-absurd-size",
            "a TIFF whose first page claims 65535 x 65535 pixels",
            _then(_write_tiff, _absurd_tiff),
        ),
        file_case("tiff-truncated", "a TIFF stack cut in half", _then(_write_tiff, truncate)),
        file_case(
            "tiff-ifd-flipped",
            "a TIFF whose first-page offset points past the end",
            _then(_write_tiff, _tiff_ifd_beyond_end),
        ),
        file_case(
            "suite2p-ops-payload",
            "a suite2p folder whose ops.npy pickle would run code",
            _suite2p,
            role="responses",
            key="F",
        ),
        file_case(
            "stimulus-complex",
            "a complex-valued stimulus movie",
            _npy("movie.npy", np.ones((60, 8, 6), np.complex64)),
            entry_points=RECIPE_RUN,
        ),
        file_case(
            "stimulus-strings",
            "a stimulus of strings",
            _npy("movie.npy", np.full((60, 8, 6), "ab", dtype="<U2")),
            entry_points=RECIPE_RUN,
        ),
        file_case(
            "responses-complex",
            "complex-valued responses",
            _npy("resp.npy", np.ones((5, 80), np.complex64)),
            role="responses",
            entry_points=RECIPE_RUN,
        ),
        file_case(
            "responses-nan",
            "responses with a NaN",
            _npy("resp.npy", nan),
            role="responses",
            entry_points=DATA_ONLY,
        ),
        file_case(
            "stimulus-inf", "a stimulus with an Inf", _npy("movie.npy", inf), entry_points=DATA_ONLY
        ),
    ]
    return cases


def all_cases() -> list[Case]:
    """Every case of the corpus, names unique."""
    from openretina_data.testing import corrupt_datasets, corrupt_hostile, corrupt_recipes

    cases = (
        source_cases()
        + corrupt_recipes.recipe_cases()
        + corrupt_datasets.dataset_cases()
        + corrupt_hostile.hostile_cases()
    )
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return cases


def case_named(name: str) -> Case:
    """The case called ``name``."""
    return next(c for c in all_cases() if c.name == name)
