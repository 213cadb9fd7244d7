"""suite2p plane folders: contract, frame rate from ops.npy, malicious pickles refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from openretina_data.errors import UnsafeContentError
from openretina_data.sources import probe
from openretina_data.testing.formats import write_suite2p
from openretina_data.testing.reader_suite import Arrays, ReaderContract


class TestSuite2pContract(ReaderContract):
    format_name = "suite2p"

    def write(self, folder: Path) -> tuple[Path, Arrays]:
        return write_suite2p(folder / "plane0")

    def file_to_break(self, source: Path) -> Path:
        return source / "F.npy"


def test_frame_rate_and_roles(tmp_path: Path) -> None:
    folder, _ = write_suite2p(tmp_path / "plane0")
    info = probe(folder)
    assert info.attrs["fs"] == 7.5 and info.attrs["nframes"] == 60
    assert info.variable("F").role == "traces"
    assert info.variable("iscell").role == "cell_metadata"


class _Payload:
    """Unpickling this would create a marker file (the attack a malicious ops.npy makes)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def test_malicious_ops_is_refused_and_never_runs(tmp_path: Path) -> None:
    folder, _ = write_suite2p(tmp_path / "plane0")
    marker = tmp_path / "payload_ran"
    ops = np.empty((), dtype=object)
    ops[()] = {"fs": 7.5, "evil": _Payload(marker)}
    with (folder / "ops.npy").open("wb") as handle:
        np.lib.format.write_array(handle, ops, allow_pickle=True)
    with pytest.raises(UnsafeContentError, match="builtins.open|io.open"):
        probe(folder)
    assert not marker.exists()
