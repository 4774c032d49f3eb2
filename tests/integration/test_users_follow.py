"""POST/DELETE /api/v1/users/{id}/follow through the gateway, the authorizer and the real
handlers: idempotent, one event per real change (written with the change, published,
valid against its schema), never oneself, never a missing or deactivated user."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from inkwell.identity import Principal
from local import event_schemas
from local.bus import LocalEventBus
from tests.conftest import Api
from tests.integration.events_support import BusWatch, outbox
from tests.integration.support import USERS, Account, assert_problem, race, sign_up, sql
from users import service


def follow(user_id: str) -> str:
    return f"{USERS}/{user_id}/follow"


def follows() -> list[tuple[str, str]]:
    rows = sql("SELECT follower_id, followee_id FROM follows ORDER BY created_at")
    return [(str(r["follower_id"]), str(r["followee_id"])) for r in rows]


def follow_events() -> list[tuple[str, dict[str, Any]]]:
    """(detail type, data) of every follow event in the users outbox, oldest first."""
    return [
        (r["detail_type"], r["detail"]["data"])
        for r in outbox()
        if r["detail_type"] in ("user.followed", "user.unfollowed")
    ]


def test_follow_then_unfollow_announces_each_change_once(
    api: Api, alice: Account, bob: Account, event_bus: LocalEventBus
) -> None:
    watch = BusWatch(event_bus)
    pair = {"followerId": alice.id, "followeeId": bob.id}

    for _ in range(3):  # following again changes nothing and announces nothing
        response = api.call("POST", follow(bob.id), token=alice.token)
        assert (response.status, response.body) == (204, b"")
    assert follows() == [(alice.id, bob.id)]
    assert follow_events() == [("user.followed", pair)]

    for _ in range(3):
        response = api.call("DELETE", follow(bob.id), token=alice.token)
        assert (response.status, response.body) == (204, b"")
    assert follows() == []
    assert follow_events() == [("user.followed", pair), ("user.unfollowed", pair)]

    assert api.call("POST", follow(bob.id), token=alice.token).status == 204
    assert follows() == [(alice.id, bob.id)]
    assert [t for t, _ in follow_events()] == ["user.followed", "user.unfollowed", "user.followed"]

    # Each was published after commit, as a valid event of its type, in order.
    assert all(r["published_at"] is not None for r in outbox())
    published = [e for e in watch.events() if e["detail-type"].endswith("followed")]
    assert [e["detail-type"] for e in published] == [
        "user.followed",
        "user.unfollowed",
        "user.followed",
    ]
    for event in published:
        event_schemas.validate(event)
        assert event["source"] == "inkwell.users"
        assert event["detail"]["data"] == pair
    occurred = [e["detail"]["occurredAt"] for e in published]
    assert occurred == sorted(occurred) and len(set(occurred)) == 3
    assert event_bus.drain(10)


def test_following_is_per_pair_and_one_way(api: Api, alice: Account, bob: Account) -> None:
    carol = sign_up(api, "carol")
    assert api.call("POST", follow(bob.id), token=alice.token).status == 204
    assert api.call("POST", follow(carol.id), token=alice.token).status == 204
    assert api.call("POST", follow(alice.id), token=bob.token).status == 204
    assert sorted(follows()) == sorted(
        [(alice.id, bob.id), (alice.id, carol.id), (bob.id, alice.id)]
    )
    assert api.call("DELETE", follow(bob.id), token=alice.token).status == 204
    assert sorted(follows()) == sorted([(alice.id, carol.id), (bob.id, alice.id)])
    # Unfollowing someone one does not follow is a no-op, not an error.
    assert api.call("DELETE", follow(carol.id), token=bob.token).status == 204
    assert [t for t, _ in follow_events()].count("user.unfollowed") == 1


def test_the_path_id_is_accepted_in_upper_case(api: Api, alice: Account, bob: Account) -> None:
    assert api.call("POST", follow(bob.id.upper()), token=alice.token).status == 204
    assert follows() == [(alice.id, bob.id)]


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_following_oneself_is_422(api: Api, alice: Account, method: str) -> None:
    for path_id in (alice.id, alice.id.upper()):
        body = assert_problem(api.call(method, follow(path_id), token=alice.token), 422)
        assert "yourself" in body["detail"]
        assert [e["field"] for e in body["errors"]] == ["id"]
    assert follows() == [] and follow_events() == []


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_an_unknown_or_malformed_user_is_404(api: Api, alice: Account, method: str) -> None:
    for path_id in (str(uuid.uuid4()), "not-a-uuid", "0"):
        body = assert_problem(api.call(method, follow(path_id), token=alice.token), 404)
        assert body["detail"] == "User was not found."
    assert follows() == [] and follow_events() == []


def test_a_deactivated_user_cannot_be_followed_or_unfollowed(
    api: Api, alice: Account, bob: Account
) -> None:
    carol = sign_up(api, "carol")
    assert api.call("POST", follow(carol.id), token=alice.token).status == 204
    before = follow_events()
    for account in (bob, carol):
        assert api.call("DELETE", f"{USERS}/{account.id}", token=account.token).status == 204

    assert_problem(api.call("POST", follow(bob.id), token=alice.token), 404)
    assert_problem(api.call("DELETE", follow(carol.id), token=alice.token), 404)
    assert follows() == [(alice.id, carol.id)]  # left as it was; content hides carol
    assert follow_events() == before


def test_a_deactivated_caller_with_a_live_token_is_401(
    api: Api, alice: Account, bob: Account
) -> None:
    assert api.call("POST", follow(bob.id), token=alice.token).status == 204
    assert api.call("DELETE", f"{USERS}/{alice.id}", token=alice.token).status == 204
    before = follow_events()
    # Alice's access token is still valid until it expires; the account is not.
    assert_problem(api.call("DELETE", follow(bob.id), token=alice.token), 401)
    carol = sign_up(api, "carol")
    assert_problem(api.call("POST", follow(carol.id), token=alice.token), 401)
    assert follows() == [(alice.id, bob.id)]
    assert follow_events() == before


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_no_token_is_401(api: Api, bob: Account, method: str) -> None:
    response = api.call(method, follow(bob.id))
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert_problem(api.call(method, follow(bob.id), token="not.a.token"), 401)
    assert follows() == [] and follow_events() == []


def test_concurrent_follows_of_one_pair_announce_exactly_one_event(
    api: Api, alice: Account, bob: Account, event_bus: LocalEventBus
) -> None:
    caller = Principal(alice.id, alice.username, "user")
    assert race([lambda: service.follow_user(bob.id, caller)] * 8).refused == []
    assert follows() == [(alice.id, bob.id)]
    assert [t for t, _ in follow_events()] == ["user.followed"]

    assert race([lambda: service.unfollow_user(bob.id, caller)] * 8).refused == []
    assert follows() == []
    assert [t for t, _ in follow_events()] == ["user.followed", "user.unfollowed"]
    assert event_bus.drain(10)
