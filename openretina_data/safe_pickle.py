"""Read pickles that hold only numpy arrays and plain containers — nothing that runs code.

``pickle.load`` executes whatever callable a file names. openretina's
``MoviesTrainTestSplit.from_pickle`` uses it on files downloaded from the
internet; we read those files through an unpickler that resolves only the few
globals plain data needs (numpy's array/scalar reconstructors, ``dtype``, the
builtin containers) and refuses everything else with
:class:`~openretina_data.errors.UnsafeContentError`.
"""

from __future__ import annotations

import os
import pickle
from typing import IO, Any

import numpy as np

from openretina_data.errors import SourceNotFoundError, UnreadableSourceError, UnsafeContentError

#: (module, name) pairs a plain-data pickle may reference.
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),  # protocol 5
        ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),  # protocol-2 pickles store array bytes through it
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "list"),
        ("builtins", "dict"),
        ("builtins", "tuple"),
        ("builtins", "complex"),
        ("builtins", "bytearray"),
        ("collections", "OrderedDict"),
    }
)
#: Protocol 0-2 pickles name the builtins module ``__builtin__`` (Python 2 spelling).
ALLOWED_GLOBALS |= {
    ("__builtin__", name) for module, name in ALLOWED_GLOBALS if module == "builtins"
}


class _PlainDataUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, path: str) -> None:
        super().__init__(file)
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafeContentError(
                f"the pickle references {module}.{name}, which is not plain data; refused to load it",
                path=self._path,
            )
        return super().find_class(module, name)


def unpickle_plain_data(handle: IO[bytes], path: str | os.PathLike[str]) -> Any:
    """Unpickle the stream at ``handle`` resolving only :data:`ALLOWED_GLOBALS`.

    For pickles inside other files (an object ``.npy`` after its header, say). Unlike
    :func:`load_plain_pickle` it returns object arrays as they are: callers decide
    what they accept. ``path`` names the file in errors.

    Raises
    ------
    UnsafeContentError
        The pickle names a class or function outside :data:`ALLOWED_GLOBALS`.
    pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError
        The stream is not a (complete) pickle; callers turn these into their error.
    """
    return _PlainDataUnpickler(handle, os.fspath(path)).load()


def _reject_object_arrays(value: Any, path: str) -> None:
    if isinstance(value, np.ndarray) and value.dtype.hasobject:
        raise UnsafeContentError("the pickle holds an array of Python objects", path=path)
    if isinstance(value, dict):
        for item in value.values():
            _reject_object_arrays(item, path)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _reject_object_arrays(item, path)


def load_plain_pickle(file_path: str | os.PathLike[str]) -> Any:
    """Load a pickle made only of numpy arrays, numpy scalars and builtin containers.

    Parameters
    ----------
    file_path
        The ``.pkl`` file.

    Returns
    -------
    Any
        The unpickled value (typically a dict of arrays).

    Raises
    ------
    SourceNotFoundError
        The file does not exist.
    UnsafeContentError
        The pickle names a class or function outside :data:`ALLOWED_GLOBALS`, or holds object arrays.
    UnreadableSourceError
        The file is truncated or not a pickle.
    """
    path = os.fspath(file_path)
    if not os.path.isfile(path):
        raise SourceNotFoundError(f"no pickle file at {path!r}", path=path)
    try:
        with open(path, "rb") as file:
            value = unpickle_plain_data(file, path)
    except UnsafeContentError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as error:
        raise UnreadableSourceError(f"cannot read the pickle: {error}", path=path) from error
    _reject_object_arrays(value, path)
    return value
