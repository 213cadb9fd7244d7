"""The top-level elements of a MAT v5 file, walked tag by tag, and what their headers may claim.

A MAT v5 file is a 128-byte header followed by one element per variable: an 8-byte
tag (type, byte count) and that many bytes, zlib-compressed (``miCOMPRESSED``) or not
(``miMATRIX``). scipy lists the variables from their array headers and reads nothing
else until one is loaded, so a file cut short, or a header claiming far more values
than the file could hold, shows only when scipy is already sizing the array. Walking
the tags (8 bytes read per variable, the same walk scipy makes) lets the reader say so
in ``probe`` and refuse in ``array`` before anything is allocated.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path

MI_MATRIX, MI_COMPRESSED = 14, 15
HEADER_BYTES = 128
#: Walk at most this many variables (8 bytes read each).
MAX_ELEMENTS = 100_000
#: A compressed array may be ~1000x smaller than its values (zlib's limit is ~1032:1 on
#: constant data): a claim is only absurd beyond this ratio *and* above available memory.
ABSURD_RATIO = 1000
#: MATLAB may store an array's values in a smaller type (a double array of small
#: integers as uint8): uncompressed data can be up to 8x smaller than the array.
MAX_TYPE_SHRINK = 8


@dataclass(frozen=True)
class Element:
    """One top-level element: where its tag starts, its type and the data bytes it claims."""

    offset: int
    kind: int
    nbytes: int

    @property
    def end(self) -> int:
        """Byte just past its data (as scipy steps from one variable to the next)."""
        return self.offset + 8 + self.nbytes


def top_level_elements(path: Path) -> tuple[list[Element], int]:
    """The elements in file order and the file size in bytes.

    The walk stops after an element that runs past the end of the file (so a truncated
    file ends with one whose :attr:`Element.end` exceeds the size), and at a tag that is
    not a variable's (scipy refuses those itself).

    Raises
    ------
    OSError
        The file cannot be read.
    """
    size = path.stat().st_size
    elements: list[Element] = []
    with path.open("rb") as handle:
        header = handle.read(HEADER_BYTES)
        if len(header) < HEADER_BYTES:
            return elements, size
        order = "<" if header[126:128] == b"IM" else ">"
        offset = HEADER_BYTES
        while offset < size and len(elements) < MAX_ELEMENTS:
            handle.seek(offset)
            tag = handle.read(8)
            if len(tag) < 8:  # the file ends inside a tag
                elements.append(Element(offset, 0, 0))
                break
            kind, nbytes = struct.unpack(order + "II", tag)
            if kind not in (MI_MATRIX, MI_COMPRESSED) or nbytes == 0:
                break
            elements.append(Element(offset, kind, nbytes))
            offset += 8 + nbytes
    return elements, size


def truncation(element: Element, file_size: int) -> str | None:
    """Why ``element`` cannot be read whole, or None when its bytes are all in the file."""
    if element.end <= file_size:
        return None
    return (
        f"its data runs to byte {element.end} but the file ends at byte {file_size} "
        "(the file is truncated)"
    )


def absurd_claim(
    shape: tuple[int, ...],
    itemsize: int,
    element: Element | None,
    file_size: int,
    available: int | None,
) -> str | None:
    """Why an array header claiming ``shape`` of ``itemsize``-byte values cannot be true.

    Uncompressed data must be in its ``element`` (up to :data:`MAX_TYPE_SHRINK` times
    smaller); otherwise (compressed, or ``element`` None because the stored size says
    nothing, as for a sparse matrix) the claim is refused only when it exceeds both
    :data:`ABSURD_RATIO` times the file and the ``available`` memory (bytes; None:
    unknown, the ratio alone decides).
    """
    claimed = math.prod(shape) * itemsize
    if element is not None and element.kind == MI_MATRIX:
        if claimed > MAX_TYPE_SHRINK * element.nbytes:
            return (
                f"its header claims {shape} values ({_size(claimed)}) but the variable "
                f"holds {_size(element.nbytes)} in the file (a damaged or hostile header)"
            )
        return None
    if claimed > ABSURD_RATIO * file_size and (available is None or claimed > available):
        memory = f" and the {_size(available)} of memory available" if available else ""
        return (
            f"its header claims {shape} values ({_size(claimed)}), more than "
            f"{ABSURD_RATIO}x the file's {_size(file_size)}{memory} (a damaged or hostile header)"
        )
    return None


def available_memory_bytes() -> int | None:
    """Memory the system can give without swapping (Linux ``MemAvailable``), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _size(nbytes: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if nbytes >= 1 << shift:
            return f"{nbytes / (1 << shift):.1f} {unit}"
    return f"{nbytes} bytes"
