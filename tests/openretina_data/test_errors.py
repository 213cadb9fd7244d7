from __future__ import annotations

import pytest

from openretina_data import errors


def test_errors_are_builtins_too():
    with pytest.raises(ValueError):
        raise errors.ShapeError("bad shape")
    with pytest.raises(FileNotFoundError):
        raise errors.SourceNotFoundError("missing")
    with pytest.raises(KeyError):
        raise errors.MissingKeyError("no key")


def test_message_names_where_and_hint():
    error = errors.ShapeError(
        "responses look transposed",
        path="s0.hdf5",
        key="responses_a",
        session="s0",
        hint="Transpose.",
    )
    text = str(error)
    assert "s0.hdf5" in text and "responses_a" in text and "session 's0'" in text
    assert "hint: Transpose." in text
    assert error.to_dict()["session"] == "s0"


def test_missing_key_error_str_is_not_repr():
    assert str(errors.MissingKeyError("no key 'x'")) == "no key 'x'"
