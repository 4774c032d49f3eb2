"""Slugs: readable, ASCII, bounded, never an id, never a reserved word; suffixes are random."""

from __future__ import annotations

import re
import uuid

import pytest

from content import slugs

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Hello, World!", "hello-world"),
        ("  --Leading and trailing--  ", "leading-and-trailing"),
        ("Crème brûlée à la façon de Maman", "creme-brulee-a-la-facon-de-maman"),
        ("Straße & Œuvre", "strae-uvre"),  # no ASCII decomposition: dropped
        ("ÆØÅ", "a"),  # Å decomposes to A; Æ and Ø do not
        ("東京", "post"),
        ("🙂 emoji 🙂", "emoji"),
        ("C++ & C#", "c-c"),
        ("1984", "1984"),
        ("feed", "post-feed"),
        ("New", "post-new"),
        ("3f1c2b9e-8d4a-4c6e-9b1a-2d5e7f8a9b0c", "post-3f1c2b9e-8d4a-4c6e-9b1a-2d5e7f8a9b0c"),
        ("3F1C2B9E8D4A4C6E9B1A2D5E7F8A9B0C", "post-3f1c2b9e8d4a4c6e9b1a2d5e7f8a9b0c"),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugs.slugify(title) == slug


def test_long_titles_are_cut_at_a_word_boundary() -> None:
    title = " ".join(["wonderland"] * 30)
    slug = slugs.slugify(title)
    assert len(slug) <= slugs.MAX_BASE_LENGTH
    assert slug == "-".join(["wonderland"] * 5)  # 54 characters: a sixth would not fit
    one_word = slugs.slugify("x" * 200)
    assert one_word == "x" * slugs.MAX_BASE_LENGTH


@pytest.mark.parametrize("title", ["", "   ", "!!!", "x" * 200, "a-" * 100, "Ünïcödé " * 20])
def test_every_slug_is_well_formed(title: str) -> None:
    slug = slugs.slugify(title)
    assert SLUG.match(slug) and len(slug) <= slugs.MAX_BASE_LENGTH
    suffixed = slugs.with_suffix(slug)
    assert SLUG.match(suffixed)
    assert len(suffixed) <= slugs.MAX_BASE_LENGTH + 1 + slugs.SUFFIX_LENGTH


def test_suffixes_are_random_and_never_make_an_id() -> None:
    base = "3f1c2b9e8d4a4c6e9b1a2d5e7f"  # 26 hex digits: six more would parse as a UUID
    suffixed = {slugs.with_suffix(base) for _ in range(300)}
    assert len(suffixed) == 300
    for slug in suffixed:
        assert slug.startswith(base + "-")
        with pytest.raises(ValueError):
            uuid.UUID(slug)


def test_candidates_start_with_the_plain_slug() -> None:
    found = slugs.candidates("Tea Time", 4)
    assert found[0] == "tea-time" and len(found) == 4 and len(set(found)) == 4
    assert all(c.startswith("tea-time-") for c in found[1:])


@pytest.mark.parametrize(
    ("value", "is_id"),
    [
        ("3f1c2b9e-8d4a-4c6e-9b1a-2d5e7f8a9b0c", True),
        ("3F1C2B9E-8D4A-4C6E-9B1A-2D5E7F8A9B0C", True),
        ("3f1c2b9e8d4a4c6e9b1a2d5e7f8a9b0c", False),
        ("post-3f1c2b9e-8d4a-4c6e-9b1a-2d5e7f8a9b0c", False),
        ("hello-world", False),
        ("{3f1c2b9e-8d4a-4c6e-9b1a-2d5e7f8a9b0c}", False),
    ],
)
def test_get_takes_only_a_canonical_uuid_as_an_id(value: str, is_id: bool) -> None:
    assert slugs.is_post_id(value) is is_id
    if not is_id:
        assert not slugs.is_post_id(slugs.slugify(value))
