"""Opaque keyset cursors."""

from __future__ import annotations

import base64

import pytest

from inkwell.errors import Problem
from inkwell.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor


def test_round_trip() -> None:
    key = ("2024-05-01T12:00:00.123456+00:00", "3f1c3f0e-2c5e-4b8e-9a53-0c1a8f1b2d3e")
    cursor = encode_cursor(*key)
    assert decode_cursor(cursor, 2) == list(key)


def test_cursor_is_url_safe_and_opaque() -> None:
    cursor = encode_cursor("a/b+c?d=e", "é")
    assert all(c.isalnum() or c in "-_" for c in cursor)
    assert "a/b" not in cursor
    assert decode_cursor(cursor, 2) == ["a/b+c?d=e", "é"]


def test_non_string_keys_are_carried_as_strings() -> None:
    assert decode_cursor(encode_cursor(42, None), 2) == ["42", "None"]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!not base64!!!",
        "a",  # impossible base64 length
        _b64(b"not json"),
        _b64(b"\xff\xfe\xfd"),  # not UTF-8
        _b64(b'{"a": 1}'),  # not a list
        _b64(b'["only-one"]'),  # wrong number of parts
        _b64(b'["a", "b", "c"]'),
        _b64(b'["a", 2]'),  # not all strings
        _b64(b"null"),
    ],
)
def test_garbage_is_a_400_problem(cursor: str) -> None:
    with pytest.raises(Problem) as raised:
        decode_cursor(cursor, 2)
    assert raised.value.status == 400
    assert "cursor" in raised.value.detail.lower()
    assert raised.value.to_dict()["status"] == 400


def test_limits() -> None:
    assert (DEFAULT_LIMIT, MAX_LIMIT) == (20, 100)
