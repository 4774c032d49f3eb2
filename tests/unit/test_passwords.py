"""bcrypt hashing and its 72-byte limit, counted in UTF-8 bytes."""

from __future__ import annotations

import pytest

from inkwell.passwords import MAX_PASSWORD_BYTES, hash_password, verify_password
from inkwell.settings import settings


def test_hash_then_verify() -> None:
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$2b$")
    assert "correct horse" not in hashed
    assert verify_password("correct horse battery", hashed)
    assert not verify_password("correct horse batterY", hashed)


def test_hash_uses_the_configured_cost_and_a_fresh_salt() -> None:
    first, second = hash_password("same password"), hash_password("same password")
    assert first != second
    assert first.split("$")[2] == f"{settings().bcrypt_rounds:02d}" == "04"


def test_multibyte_password_at_exactly_72_bytes_works() -> None:
    password = "é" * 36  # 36 characters, 72 bytes
    assert len(password.encode()) == MAX_PASSWORD_BYTES == 72
    hashed = hash_password(password)
    assert verify_password(password, hashed)
    assert not verify_password("é" * 35 + "e", hashed)


def test_multibyte_password_over_72_bytes_is_refused_by_verify() -> None:
    hashed = hash_password("é" * 36)
    too_long = "é" * 37  # only 37 characters, but 74 bytes
    assert len(too_long) < MAX_PASSWORD_BYTES < len(too_long.encode())
    assert verify_password(too_long, hashed) is False


def test_the_last_bytes_of_a_72_byte_password_count() -> None:
    # bcrypt < 5 silently ignored bytes past 72; up to 72 every byte must matter.
    base = "a" * 68 + "€"  # 71 bytes
    hashed = hash_password(base + "b")
    assert verify_password(base + "b", hashed)
    assert not verify_password(base + "c", hashed)


def test_hashing_more_than_72_bytes_is_an_error_not_a_truncation() -> None:
    # Validation stops such passwords before they get here (422); if one slipped through,
    # it must fail loudly rather than be silently truncated.
    with pytest.raises(ValueError):
        hash_password("é" * 37)


def test_unknown_user_check_returns_false() -> None:
    assert verify_password("whatever password", None) is False
