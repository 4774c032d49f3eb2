"""Posts through their real handlers: writing, reading by id or slug, editing, deleting; the
validation limits; who may see and change what; slugs; the author's display fields."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from content import service
from content.models import CreatePostRequest
from inkwell.identity import Principal
from local.bus import LocalEventBus
from tests.conftest import Api
from tests.integration.content_support import (
    AUTHOR_FIELDS,
    POST_FIELDS,
    POSTS,
    content_sql,
    events_since,
    ok,
    outbox,
    post_path,
    publish,
    published,
    write,
)
from tests.integration.support import USERS, Account, assert_problem, error_fields, race


def post_row(post_id: str) -> dict[str, Any]:
    (row,) = content_sql("SELECT * FROM posts WHERE id = CAST(:id AS uuid)", id=post_id)
    return row


# --- create and read ------------------------------------------------------------------


def test_create_returns_the_draft_with_every_field(
    api: Api, alice: Account, event_bus: LocalEventBus
) -> None:
    event_bus.drain()  # alice's registration has reached the authors read model
    before = outbox()
    post = write(
        api,
        alice,
        "  Down the Rabbit Hole  ",
        summary="How it began.",
        body="Alice was beginning to get very tired...",
        tags=["Wonderland", " rabbits ", "WONDERLAND", "tea   party"],
    )
    assert set(post) == POST_FIELDS
    assert post["title"] == "Down the Rabbit Hole"
    assert post["slug"] == "down-the-rabbit-hole"
    assert post["tags"] == ["wonderland", "rabbits", "tea party"]
    assert (post["status"], post["publishedAt"], post["publishAt"]) == ("draft", None, None)
    assert (post["favoritesCount"], post["favorited"]) == (0, False)
    assert post["author"] == {
        "id": alice.id,
        "username": "alice",
        "firstName": "Alice",
        "lastName": "Liddell",
    }
    assert post["createdAt"] == post["updatedAt"]
    uuid.UUID(post["id"])

    (event,) = events_since(before)
    assert event["detail_type"] == "post.created"
    assert event["source"] == "inkwell.content"
    assert event["detail"]["data"] == {
        "id": post["id"],
        "slug": "down-the-rabbit-hole",
        "title": "Down the Rabbit Hole",
        "authorId": alice.id,
        "status": "draft",
        "publishedAt": None,
    }
    assert event["created_at"] == post_row(post["id"])["created_at"]  # one transaction


def test_the_author_reads_a_draft_by_id_and_by_slug(api: Api, alice: Account) -> None:
    post = write(api, alice)
    for key in (post["id"], post["slug"], post["id"].upper()):
        got = ok(api.call("GET", post_path(key), token=alice.token))
        assert got == post


def test_a_draft_is_404_to_anyone_else_and_visible_to_an_admin(
    api: Api, alice: Account, bob: Account, admin: Account
) -> None:
    post = write(api, alice)
    for key in (post["id"], post["slug"]):
        assert_problem(api.call("GET", post_path(key)), 404)
        assert_problem(api.call("GET", post_path(key), token=bob.token), 404)
        assert ok(api.call("GET", post_path(key), token=admin.token))["id"] == post["id"]


def test_a_published_post_is_readable_by_anyone(api: Api, alice: Account, bob: Account) -> None:
    post = published(api, alice, body="Curiouser and curiouser.")
    for token in (None, bob.token):
        got = ok(api.call("GET", post_path(post["slug"]), token=token))
        assert got["body"] == "Curiouser and curiouser." and got["status"] == "published"
        assert got["favorited"] is False


@pytest.mark.parametrize(
    "key", ["no-such-post", "0b7e4f2a-6c1d-4e8b-a3f5-9d2c1b0a8e7f", "x" * 300, "%20"]
)
def test_an_unknown_post_is_404(api: Api, alice: Account, key: str) -> None:
    assert_problem(api.call("GET", post_path(key), token=alice.token), 404)


def test_a_post_written_before_the_registration_reached_content_uses_the_token(
    api: Api, alice: Account, event_bus: LocalEventBus
) -> None:
    """The authors row comes from the verified claims, and the next users event wins."""
    event_bus.drain()
    content_sql("DELETE FROM authors")
    post = write(api, alice)
    assert post["author"] == {
        "id": alice.id,
        "username": "alice",
        "firstName": None,
        "lastName": None,
    }
    (author,) = content_sql(
        "SELECT username, version = '-infinity' AS from_claims"
        " FROM authors WHERE user_id = CAST(:id AS uuid)",
        id=alice.id,
    )
    assert author == {"username": "alice", "from_claims": True}
    # A rename in the users domain reaches the post once user.updated has arrived.
    assert (
        api.call("PATCH", f"{USERS}/{alice.id}", {"firstName": "Alicia"}, token=alice.token).status
        == 200
    )
    assert event_bus.drain()
    got = ok(api.call("GET", post_path(post["id"]), token=alice.token))
    assert (got["author"]["firstName"], got["author"]["lastName"]) == ("Alicia", "Liddell")
    assert set(got["author"]) == AUTHOR_FIELDS


def test_writing_needs_a_token(api: Api) -> None:
    assert_problem(api.call("POST", POSTS, {"title": "Anonymous"}), 401)
    assert content_sql("SELECT count(*) AS n FROM posts") == [{"n": 0}]


# --- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"title": None}, "title"),
        ({"title": 42}, "title"),
        ({"title": "ok", "summary": "s" * 501}, "summary"),
        ({"title": "ok", "body": "é" * 50_001}, "body"),  # 50,001 characters, 100,002 bytes
        ({"title": "ok", "body": "b" * 100_001}, "body"),
        ({"title": "ok", "tags": [f"t{i}" for i in range(11)]}, "tags"),
        ({"title": "ok", "tags": "python"}, "tags"),
        ({"title": "ok", "tags": ["ok", ""]}, "tags.1"),
        ({"title": "ok", "tags": ["   "]}, "tags.0"),
        ({"title": "ok", "tags": ["t" * 31]}, "tags.0"),
        ({"title": "ok", "tags": ["bad\ttab"]}, "tags.0"),
        ({"title": "ok", "tags": [7]}, "tags.0"),
        ({"title": "ok", "status": "published"}, "status"),
        ({"title": "ok", "slug": "my-own"}, "slug"),
        ({"title": "nul\x00"}, "title"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_an_invalid_post_is_422_naming_the_field(
    api: Api, alice: Account, body: dict[str, Any], field: str
) -> None:
    response = api.call("POST", POSTS, body, token=alice.token)
    assert field in error_fields(response), response.body
    assert content_sql("SELECT count(*) AS n FROM posts") == [{"n": 0}]
    assert outbox() == []


def test_the_limits_themselves_are_accepted(api: Api, alice: Account) -> None:
    post = write(
        api,
        alice,
        "t" * 200,
        summary="s" * 500,
        body="é" * 50_000,
        tags=[f"{i:02d}" + "x" * 28 for i in range(10)] + ["00" + "X" * 28],
    )
    assert len(post["title"]) == 200 and len(post["summary"]) == 500
    assert len(post["body"].encode()) == 100_000
    assert len(post["tags"]) == 10 and all(len(t) == 30 for t in post["tags"])


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"title"', b""])
def test_a_malformed_body_is_400(api: Api, alice: Account, raw: bytes) -> None:
    assert_problem(api.call("POST", POSTS, raw_body=raw, token=alice.token), 400)
    post = write(api, alice)
    response = api.call("PATCH", post_path(post["id"]), raw_body=raw or b"{", token=alice.token)
    assert_problem(response, 400)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": None}, "title"),
        ({"summary": None}, "summary"),
        ({"body": None}, "body"),
        ({"tags": None}, "tags"),
        ({"title": ""}, "title"),
        ({"tags": ["x"] * 3 + [f"y{i}" for i in range(10)]}, "tags"),
        ({"author": "bob"}, "author"),
    ],
)
def test_an_invalid_edit_is_422_and_changes_nothing(
    api: Api, alice: Account, body: dict[str, Any], field: str
) -> None:
    post = write(api, alice, tags=["a"])
    before = outbox()
    assert field in error_fields(api.call("PATCH", post_path(post["id"]), body, token=alice.token))
    assert ok(api.call("GET", post_path(post["id"]), token=alice.token)) == post
    assert events_since(before) == []


# --- edit and delete ------------------------------------------------------------------


def test_an_edit_changes_only_the_fields_sent_and_announces_it(api: Api, alice: Account) -> None:
    post = write(api, alice, summary="old summary", body="old body", tags=["a", "b"])
    before = outbox()
    edited = ok(
        api.call(
            "PATCH",
            post_path(post["id"]),
            {"body": "new body", "tags": ["B", "c"]},
            token=alice.token,
        )
    )
    assert (edited["title"], edited["summary"]) == (post["title"], "old summary")
    assert (edited["body"], edited["tags"]) == ("new body", ["b", "c"])
    assert edited["updatedAt"] > post["updatedAt"] and edited["createdAt"] == post["createdAt"]
    (event,) = events_since(before)
    assert event["detail_type"] == "post.updated"
    assert event["detail"]["data"]["status"] == "draft"
    assert ok(api.call("GET", post_path(post["id"]), token=alice.token)) == edited


def test_an_empty_edit_changes_and_announces_nothing(api: Api, alice: Account) -> None:
    post = write(api, alice)
    before = outbox()
    assert ok(api.call("PATCH", post_path(post["id"]), {}, token=alice.token)) == post
    assert events_since(before) == []


def test_delete_removes_the_post_with_its_tags_and_favorites(
    api: Api, alice: Account, bob: Account
) -> None:
    post = published(api, alice, tags=["gone"])
    ok(api.call("POST", post_path(post["id"], "favorite"), token=bob.token))
    before = outbox()
    response = api.call("DELETE", post_path(post["id"]), token=alice.token)
    assert response.status == 204 and response.body == b""
    assert_problem(api.call("GET", post_path(post["id"]), token=alice.token), 404)
    assert_problem(api.call("DELETE", post_path(post["id"]), token=alice.token), 404)
    for table in ("posts", "published_tags", "favorites"):
        assert content_sql(f"SELECT count(*) AS n FROM {table}") == [{"n": 0}], table
    (event,) = events_since(before)
    assert event["detail_type"] == "post.deleted"
    assert event["detail"]["data"] == {
        "id": post["id"],
        "slug": post["slug"],
        "title": post["title"],
        "authorId": alice.id,
        "status": "published",
        "publishedAt": event["detail"]["data"]["publishedAt"],
    }
    assert event["detail"]["data"]["publishedAt"].startswith(post["publishedAt"][:19])


# --- authorization --------------------------------------------------------------------


WRITES = [
    ("PATCH", "", {"title": "Mine now"}),
    ("DELETE", "", None),
    ("POST", "publish", None),
    ("POST", "unpublish", None),
]


@pytest.mark.parametrize(
    ("method", "action", "body"), WRITES, ids=[f"{m} {a}" for m, a, _ in WRITES]
)
def test_another_users_post_is_403_to_change_when_visible_and_404_when_not(
    api: Api, alice: Account, bob: Account, method: str, action: str, body: Any
) -> None:
    draft = write(api, alice, "A draft")
    public = published(api, alice, "A public post")
    before = outbox()
    rows = content_sql("SELECT * FROM posts ORDER BY id")
    assert_problem(api.call(method, post_path(draft["id"], action), body, token=bob.token), 404)
    assert_problem(api.call(method, post_path(public["id"], action), body, token=bob.token), 403)
    assert content_sql("SELECT * FROM posts ORDER BY id") == rows
    assert events_since(before) == []


@pytest.mark.parametrize(
    ("method", "action", "body"), WRITES, ids=[f"{m} {a}" for m, a, _ in WRITES]
)
def test_a_malformed_or_unknown_id_is_404_for_writes(
    api: Api, alice: Account, method: str, action: str, body: Any
) -> None:
    for key in ("not-a-uuid", str(uuid.uuid4())):
        assert_problem(api.call(method, post_path(key, action), body, token=alice.token), 404)


def test_an_admin_may_edit_publish_and_delete_anyones_post(
    api: Api, alice: Account, admin: Account
) -> None:
    post = write(api, alice)
    edited = ok(
        api.call("PATCH", post_path(post["id"]), {"summary": "moderated"}, token=admin.token)
    )
    assert edited["summary"] == "moderated" and edited["author"]["id"] == alice.id
    assert publish(api, admin, post["id"])["status"] == "published"
    assert (
        ok(api.call("POST", post_path(post["id"], "unpublish"), token=admin.token))["status"]
        == "draft"
    )
    assert api.call("DELETE", post_path(post["id"]), token=admin.token).status == 204
    assert content_sql("SELECT count(*) AS n FROM posts") == [{"n": 0}]


# --- slugs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Crème Brûlée, façon Maman!", "creme-brulee-facon-maman"),
        ("  Hello --- World  ", "hello-world"),
        ("日本語のタイトル", "post"),
        ("Feed", "post-feed"),
        ("3F1C2B9E-8D4A-4C6E-9B1A-2D5E7F8A9B0C", "post-3f1c2b9e-8d4a-4c6e-9b1a-2d5e7f8a9b0c"),
    ],
)
def test_slugs_come_from_the_title(api: Api, alice: Account, title: str, slug: str) -> None:
    post = write(api, alice, title)
    assert post["slug"] == slug
    assert ok(api.call("GET", post_path(slug), token=alice.token))["id"] == post["id"]


def test_the_same_title_gets_distinct_slugs_each_resolving_to_its_post(
    api: Api, alice: Account, bob: Account
) -> None:
    first = write(api, alice, "Tea Time")
    second = write(api, bob, "Tea Time")
    third = write(api, alice, "tea time!")
    assert first["slug"] == "tea-time"
    assert len({first["slug"], second["slug"], third["slug"]}) == 3
    for post, account in ((second, bob), (third, alice)):
        assert post["slug"].startswith("tea-time-")
        got = ok(api.call("GET", post_path(post["slug"]), token=account.token))
        assert got["id"] == post["id"]


def test_concurrent_writers_of_one_title_each_get_their_own_slug(api: Api, alice: Account) -> None:
    principal = Principal(alice.id, "alice", "user")
    body = CreatePostRequest(title="The Same Title")
    outcome = race([lambda: service.create_post(body, principal)] * 8)
    assert outcome.refused == []
    slugs = [post.slug for post in outcome.results]
    assert len(slugs) == 8 and len(set(slugs)) == 8
    assert "the-same-title" in slugs
    stored = content_sql("SELECT slug FROM posts")
    assert sorted(r["slug"] for r in stored) == sorted(slugs)
    assert len(outbox("post.created")) == 8


def test_a_title_edit_reslugs_a_draft_but_never_a_published_post(api: Api, alice: Account) -> None:
    post = write(api, alice, "First Title")
    renamed = ok(
        api.call("PATCH", post_path(post["id"]), {"title": "Second Title"}, token=alice.token)
    )
    assert renamed["slug"] == "second-title"
    assert_problem(api.call("GET", post_path("first-title"), token=alice.token), 404)

    publish(api, alice, post["id"])
    assert post_row(post["id"])["slug_locked"] is True
    before = outbox()
    edited = ok(
        api.call("PATCH", post_path(post["id"]), {"title": "Third Title"}, token=alice.token)
    )
    assert (edited["title"], edited["slug"]) == ("Third Title", "second-title")
    (event,) = events_since(before)
    assert event["detail"]["data"]["slug"] == "second-title"
    assert ok(api.call("GET", post_path("second-title")))["title"] == "Third Title"
    assert_problem(api.call("GET", post_path("third-title")), 404)
    # Unpublished again, the link still holds: the slug stays locked.
    ok(api.call("POST", post_path(post["id"], "unpublish"), token=alice.token))
    edited = ok(
        api.call("PATCH", post_path(post["id"]), {"title": "Fourth Title"}, token=alice.token)
    )
    assert edited["slug"] == "second-title"


def test_a_title_edit_to_a_taken_slug_gets_a_suffix(api: Api, alice: Account) -> None:
    write(api, alice, "Taken")
    other = write(api, alice, "Something Else")
    edited = ok(api.call("PATCH", post_path(other["id"]), {"title": "Taken"}, token=alice.token))
    assert edited["slug"].startswith("taken-") and edited["title"] == "Taken"
    same = ok(
        api.call(
            "PATCH", post_path(other["id"]), {"title": "Taken", "summary": "x"}, token=alice.token
        )
    )
    assert same["slug"] == edited["slug"]  # the same title keeps its slug
