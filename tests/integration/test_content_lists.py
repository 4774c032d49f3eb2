"""Lists through their real handlers: the public list and its filters, one's own posts, the
feed, tag counts; keyset pagination while posts are being published; favorites; posts of a
deactivated author hidden; one SQL round trip per read."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from bench.wire import RoundTrips
from inkwell.db import database
from local.bus import LocalEventBus
from tests.conftest import Api
from tests.integration.content_support import (
    FEED,
    MY_POSTS,
    POSTS,
    SUMMARY_FIELDS,
    TAGS,
    content_sql,
    follow_directly,
    ids,
    newest_first,
    ok,
    post_path,
    publish,
    published,
    seed_published,
    set_author,
    write,
)
from tests.integration.support import USERS, Account, assert_problem, error_fields, race, sign_up


@pytest.fixture
def carol(api: Api) -> Account:
    return sign_up(api, "carol", firstName="Carol")


def page(api: Api, path: str, token: str | None = None, **query: Any) -> dict[str, Any]:
    body = ok(api.call("GET", path, token=token, query={k: str(v) for k, v in query.items()}))
    assert isinstance(body, dict) and set(body) == {"items", "nextCursor"}
    return body


# --- GET /posts -----------------------------------------------------------------------


def test_the_public_list_has_published_posts_newest_first_without_bodies(
    api: Api, alice: Account, bob: Account, event_bus: LocalEventBus
) -> None:
    event_bus.drain()
    first = published(api, alice, "First", body="the body", tags=["a"])
    write(api, alice, "A draft")
    second = published(api, bob, "Second")
    scheduled = write(api, bob, "Scheduled")
    publish(api, bob, scheduled["id"], publishAt="2999-01-01T00:00:00Z")
    listed = page(api, POSTS)
    assert ids(listed) == [second["id"], first["id"]] and listed["nextCursor"] is None
    item = listed["items"][1]
    assert set(item) == SUMMARY_FIELDS
    expected = {k: v for k, v in first.items() if k != "body"}
    assert item == expected
    assert item["author"] == {
        "id": alice.id,
        "username": "alice",
        "firstName": "Alice",
        "lastName": "Liddell",
    }


@pytest.mark.parametrize(
    "query",
    [{"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"tag": "t" * 101}, {"q": "q" * 201}],
)
def test_bad_list_parameters_are_422(api: Api, query: dict[str, str]) -> None:
    assert error_fields(api.call("GET", POSTS, query=query)) == {next(iter(query))}


@pytest.mark.parametrize("path", [POSTS, MY_POSTS, FEED])
@pytest.mark.parametrize("cursor", ["garbage!", "WyJ4Il0", "WyJub3QgYSBkYXRlIiwiYSJd"])
def test_a_bad_cursor_is_400(api: Api, alice: Account, path: str, cursor: str) -> None:
    assert_problem(api.call("GET", path, token=alice.token, query={"cursor": cursor}), 400)


def test_filters_by_tag_author_and_search(
    api: Api, alice: Account, bob: Account, event_bus: LocalEventBus
) -> None:
    event_bus.drain()
    tea = published(
        api, alice, "Mad Tea Party", body="Twinkle twinkle little bat", tags=["Tea", "party"]
    )
    croquet = published(
        api, bob, "Croquet with the Queen", body="Off with their heads", tags=["games", "tea"]
    )
    hole = published(api, alice, "The Rabbit Hole", body="Down, down, down", tags=["rabbits"])
    write(api, alice, "Draft about tea", body="tea tea tea", tags=["tea"])

    def found(**query: str) -> list[str]:
        return ids(page(api, POSTS, **query))

    assert found(tag="tea") == [croquet["id"], tea["id"]]
    assert found(tag="  TEA ") == [croquet["id"], tea["id"]]
    assert found(tag="nothing") == []
    assert found(author="alice") == [hole["id"], tea["id"]]
    assert found(author="ALICE") == [hole["id"], tea["id"]]
    assert found(author="nobody") == []
    assert found(q="heads") == [croquet["id"]]  # a word of the body
    assert found(q="rabbit") == [hole["id"]]  # a word of the title
    assert found(q="tea") == [tea["id"]]  # the draft is not public
    assert found(q="down -queen") == [hole["id"]]
    assert found(q='"little bat"') == [tea["id"]]
    assert found(q="Rabbit or Croquet") == [hole["id"], croquet["id"]]
    assert found(tag="tea", author="bob") == [croquet["id"]]
    assert found(tag="tea", q="twinkle") == [tea["id"]]
    assert found(tag="tea", author="alice", q="heads") == []
    assert found(q="   ") == [hole["id"], croquet["id"], tea["id"]]  # blank: no filter


def test_favorited_is_per_caller_in_lists_and_reads(api: Api, alice: Account, bob: Account) -> None:
    post = published(api, alice)
    other = published(api, alice, "Other")
    ok(api.call("POST", post_path(post["id"], "favorite"), token=bob.token))
    by_bob = {i["id"]: i["favorited"] for i in page(api, POSTS, token=bob.token)["items"]}
    assert by_bob == {post["id"]: True, other["id"]: False}
    assert {i["favorited"] for i in page(api, POSTS)["items"]} == {False}
    assert {i["favorited"] for i in page(api, POSTS, token=alice.token)["items"]} == {False}
    assert ok(api.call("GET", post_path(post["slug"]), token=bob.token))["favorited"] is True
    assert ok(api.call("GET", post_path(post["slug"])))["favorited"] is False


# --- keyset pagination ----------------------------------------------------------------


def walk(
    api: Api, path: str, token: str | None, between: Callable[[], None], **query: Any
) -> list[str]:
    """Every item of a list, page by page (limit 4), calling `between` after each page."""
    seen: list[str] = []
    cursor = None
    for _ in range(50):
        current = page(api, path, token, limit=4, **query, **({"cursor": cursor} if cursor else {}))
        assert len(current["items"]) <= 4
        seen.extend(ids(current))
        cursor = current["nextCursor"]
        if cursor is None:
            return seen
        between()
    raise AssertionError("the walk did not end")


def test_keyset_pages_have_no_gaps_or_duplicates_while_posts_are_published(
    api: Api, alice: Account, bob: Account, carol: Account, event_bus: LocalEventBus
) -> None:
    event_bus.drain()
    # 30 posts in groups of 3 with the same published_at and created_at: ties broken by id.
    seeded = seed_published([alice.id, bob.id], 30, ties=3, tag_count=2)
    follow_directly(carol.id, alice.id)
    follow_directly(carol.id, bob.id)
    added: list[str] = []

    def publish_a_new_one() -> None:  # newer than everything: must not show up later
        added.append(
            published(api, alice, f"Between pages {len(added)}", tags=["every", "t0"])["id"]
        )

    by_alice = [r for r in seeded if str(r["author_id"]) == alice.id]
    tagged_t0 = [r for r in seeded if "t0" in r["tags"]]
    assert len(tagged_t0) == 15
    walks = {
        "all": (POSTS, None, {}, newest_first(seeded)),
        "tag": (POSTS, None, {"tag": "t0"}, newest_first(tagged_t0)),
        "author": (POSTS, None, {"author": "alice"}, newest_first(by_alice)),
        "tag and author": (
            POSTS,
            None,
            {"tag": "every", "author": "alice"},
            newest_first(by_alice),
        ),
        "search": (POSTS, None, {"q": "body"}, newest_first(seeded)),
        "feed": (FEED, carol.token, {}, newest_first(seeded)),
        "mine": (MY_POSTS, alice.token, {}, newest_first(by_alice, "created_at")),
    }
    for name, (path, token, query, expected) in walks.items():
        seen = walk(api, path, token, publish_a_new_one, **query)
        assert len(seen) == len(set(seen)), name
        assert [i for i in seen if i not in added] == expected, name
        assert not set(seen) & set(added[-3:]), name  # published after the walk began


def test_a_deep_page_is_the_same_as_counting_from_the_start(
    api: Api, alice: Account, event_bus: LocalEventBus
) -> None:
    event_bus.drain()
    seeded = newest_first(seed_published([alice.id], 45, ties=2))
    cursor = None
    pages = []
    while True:
        current = page(api, POSTS, limit=10, **({"cursor": cursor} if cursor else {}))
        pages.append(ids(current))
        cursor = current["nextCursor"]
        if cursor is None:
            break
    assert pages == [seeded[i : i + 10] for i in range(0, 45, 10)]


# --- GET /users/me/posts --------------------------------------------------------------


def test_my_posts_are_every_status_of_mine_only_with_a_status_filter(
    api: Api, alice: Account, bob: Account
) -> None:
    draft = write(api, alice, "Draft")
    public = published(api, alice, "Public")
    later = write(api, alice, "Later")
    publish(api, alice, later["id"], publishAt="2999-01-01T00:00:00Z")
    published(api, bob, "Bob's")
    mine = page(api, MY_POSTS, alice.token)
    assert ids(mine) == [later["id"], public["id"], draft["id"]]
    assert [i["status"] for i in mine["items"]] == ["scheduled", "published", "draft"]
    assert all(set(i) == SUMMARY_FIELDS for i in mine["items"])
    for status, expected in (("draft", draft), ("published", public), ("scheduled", later)):
        assert ids(page(api, MY_POSTS, alice.token, status=status)) == [expected["id"]]
    assert error_fields(
        api.call("GET", MY_POSTS, token=alice.token, query={"status": "deleted"})
    ) == {"status"}
    assert_problem(api.call("GET", MY_POSTS), 401)


# --- GET /tags ------------------------------------------------------------------------


def test_tags_are_counted_over_published_posts_most_used_first(
    api: Api, alice: Account, bob: Account
) -> None:
    published(api, alice, "One", tags=["tea", "rabbits"])
    published(api, bob, "Two", tags=["Tea", "cards"])
    published(api, bob, "Three", tags=["tea", "rabbits"])
    write(api, alice, "Draft", tags=["tea", "drafts-only"])
    tags = ok(api.call("GET", TAGS))
    assert tags == {
        "items": [
            {"tag": "tea", "count": 3},
            {"tag": "rabbits", "count": 2},
            {"tag": "cards", "count": 1},
        ],
        "nextCursor": None,
    }
    assert error_fields(api.call("GET", TAGS, query={"limit": "0"})) == {"limit"}


def test_tags_page_with_a_cursor(api: Api, alice: Account) -> None:
    published(api, alice, "One", tags=["a", "b", "c"])
    published(api, alice, "Two", tags=["b", "c", "d"])
    published(api, alice, "Three", tags=["c", "e"])
    seen: list[tuple[str, int]] = []
    cursor: str | None = None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page_ = ok(api.call("GET", TAGS, query=query))
        seen.extend((t["tag"], t["count"]) for t in page_["items"])
        cursor = page_["nextCursor"]
        if cursor is None:
            break
    assert seen == [("c", 3), ("b", 2), ("a", 1), ("d", 1), ("e", 1)]
    assert_problem(api.call("GET", TAGS, query={"cursor": "nonsense"}), 400)


# --- favorites ------------------------------------------------------------------------


def test_favorite_and_unfavorite_are_idempotent_and_counted(
    api: Api, alice: Account, bob: Account, carol: Account
) -> None:
    post = published(api, alice)
    path = post_path(post["id"], "favorite")
    first = ok(api.call("POST", path, token=bob.token))
    assert (first["favoritesCount"], first["favorited"]) == (1, True)
    assert set(first) == set(post)
    again = ok(api.call("POST", path, token=bob.token))
    assert (again["favoritesCount"], again["favorited"]) == (1, True)
    by_carol = ok(api.call("POST", path, token=carol.token))
    assert (by_carol["favoritesCount"], by_carol["favorited"]) == (2, True)
    assert ok(api.call("GET", post_path(post["id"])))["favoritesCount"] == 2
    removed = ok(api.call("DELETE", path, token=bob.token))
    assert (removed["favoritesCount"], removed["favorited"]) == (1, False)
    removed = ok(api.call("DELETE", path, token=bob.token))
    assert (removed["favoritesCount"], removed["favorited"]) == (1, False)
    assert content_sql("SELECT count(*) AS n FROM favorites") == [{"n": 1}]
    assert page(api, POSTS, carol.token)["items"][0]["favoritesCount"] == 1
    assert page(api, POSTS, carol.token)["items"][0]["favorited"] is True


def test_favoriting_what_one_cannot_see_is_404_and_a_draft_of_ones_own_409(
    api: Api, alice: Account, bob: Account
) -> None:
    draft = write(api, alice)
    for method in ("POST", "DELETE"):
        assert_problem(api.call(method, post_path(draft["id"], "favorite"), token=bob.token), 404)
        assert_problem(api.call(method, post_path("nope", "favorite"), token=bob.token), 404)
        assert_problem(api.call(method, post_path(draft["id"], "favorite")), 401)
    assert_problem(api.call("POST", post_path(draft["id"], "favorite"), token=alice.token), 409)
    assert content_sql("SELECT count(*) AS n FROM favorites") == [{"n": 0}]


def test_concurrent_favorites_are_all_counted(api: Api, alice: Account) -> None:
    post = published(api, alice)
    accounts = [sign_up(api, f"fan{i}") for i in range(6)]
    outcome = race(
        [
            partial(api.call, "POST", post_path(post["id"], "favorite"), token=account.token)
            for account in accounts
        ]
    )
    statuses = [response.status for response in outcome.results]
    assert statuses == [200] * 6
    assert ok(api.call("GET", post_path(post["id"])))["favoritesCount"] == 6


# --- the feed -------------------------------------------------------------------------


def test_the_feed_has_the_published_posts_of_followed_authors(
    api: Api, alice: Account, bob: Account, carol: Account, event_bus: LocalEventBus
) -> None:
    from_alice = published(api, alice, "From Alice")
    write(api, alice, "Alice's draft")
    from_bob = published(api, bob, "From Bob")
    published(api, carol, "Carol's own")
    assert page(api, FEED, carol.token)["items"] == []
    # Following is the users domain's: its events reach content's read model.
    for author in (alice, bob):
        assert api.call("POST", f"{USERS}/{author.id}/follow", token=carol.token).status in (
            200,
            201,
            204,
        )
    assert event_bus.drain()
    assert ids(page(api, FEED, carol.token)) == [from_bob["id"], from_alice["id"]]
    assert api.call("DELETE", f"{USERS}/{bob.id}/follow", token=carol.token).status in (200, 204)
    assert event_bus.drain()
    assert ids(page(api, FEED, carol.token)) == [from_alice["id"]]
    assert page(api, FEED, alice.token)["items"] == []
    assert_problem(api.call("GET", FEED), 401)


# --- deactivated authors --------------------------------------------------------------


def test_posts_of_a_deactivated_author_disappear_from_everything_public(
    api: Api,
    alice: Account,
    bob: Account,
    carol: Account,
    admin: Account,
    event_bus: LocalEventBus,
) -> None:
    event_bus.drain()
    hidden = published(api, alice, "Hidden soon", body="findme", tags=["shared", "alice-only"])
    kept = published(api, bob, "Kept", tags=["shared"])
    follow_directly(carol.id, alice.id)
    follow_directly(carol.id, bob.id)
    assert ids(page(api, FEED, carol.token)) == [kept["id"], hidden["id"]]

    set_author(alice.id, "alice", is_active=False, first_name="Alice")  # user.deactivated
    assert ids(page(api, POSTS)) == [kept["id"]]
    assert ids(page(api, POSTS, tag="shared")) == [kept["id"]]
    assert ids(page(api, POSTS, tag="alice-only")) == []
    assert ids(page(api, POSTS, author="alice")) == []
    assert ids(page(api, POSTS, q="findme")) == []
    assert ids(page(api, FEED, carol.token)) == [kept["id"]]
    assert ok(api.call("GET", TAGS))["items"] == [{"tag": "shared", "count": 1}]
    for token in (None, carol.token):
        assert_problem(api.call("GET", post_path(hidden["slug"]), token=token), 404)
    assert_problem(api.call("POST", post_path(hidden["id"], "favorite"), token=carol.token), 404)
    # Admins still see it; its deactivated author reads their own posts with their old
    # token until it expires, and can change none of them.
    assert ok(api.call("GET", post_path(hidden["id"]), token=admin.token))["id"] == hidden["id"]
    assert ids(page(api, MY_POSTS, alice.token)) == [hidden["id"]]
    assert_problem(
        api.call("PATCH", post_path(hidden["id"]), {"title": "Back"}, token=alice.token), 401
    )


def test_deactivating_through_the_users_api_hides_the_posts(
    api: Api, alice: Account, event_bus: LocalEventBus
) -> None:
    post = published(api, alice)
    assert api.call("DELETE", f"{USERS}/{alice.id}", token=alice.token).status == 204
    assert event_bus.drain()
    assert page(api, POSTS)["items"] == []
    assert_problem(api.call("GET", post_path(post["id"])), 404)


# --- round trips ----------------------------------------------------------------------


def test_every_read_is_one_round_trip_whatever_the_page(
    api: Api,
    alice: Account,
    bob: Account,
    event_bus: LocalEventBus,
    wire: Callable[[str], RoundTrips],
) -> None:
    event_bus.drain()
    seed_published([alice.id, bob.id], 60)
    follow_directly(bob.id, alice.id)
    post = published(api, alice, tags=["t1"])
    counted = wire("content")
    api.dispatcher.environment.run(database("content").discard_connection)

    def trips(path: str, token: str | None = None, **query: Any) -> int:
        before = counted.round_trips
        body = ok(api.call("GET", path, token=token, query={k: str(v) for k, v in query.items()}))
        assert body
        return counted.round_trips - before

    reads: list[tuple[str, str | None, dict[str, Any]]] = [
        (POSTS, None, {}),
        (POSTS, bob.token, {"limit": 100}),
        (POSTS, None, {"tag": "t1"}),
        (POSTS, None, {"author": "alice"}),
        (POSTS, None, {"q": "body"}),
        (FEED, bob.token, {}),
        (MY_POSTS, alice.token, {"limit": 50}),
        (TAGS, None, {}),
        (post_path(post["slug"]), bob.token, {}),
        (post_path(post["id"]), None, {}),
    ]
    for path, token, query in reads:
        # Statements are unnamed (nothing prepared ahead): the first run costs the same.
        assert trips(path, token, **query) == 1, (path, query)
        assert trips(path, token, **query) == 1, (path, query)
        first = page(api, path, token, **query) if path in (POSTS, FEED, MY_POSTS) else None
        if first and first["nextCursor"]:
            assert trips(path, token, cursor=first["nextCursor"], **query) == 1
