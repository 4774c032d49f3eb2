"""Content's read models of the users domain, kept by the content-users consumer: the real
handler fed EventBridge events directly (redelivered, out of order), and end to end from
the users API through the outbox and the local bus into the content database."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import wiring
from content.consumers import users_events
from inkwell.consumers import InvalidEvent
from inkwell.identity import Principal
from local import event_schemas, sample_events
from local.bus import LocalEventBus
from tests.conftest import Api
from tests.integration.events_support import BusWatch
from tests.integration.support import USERS, inspector, race, sign_up, sql
from users import service

CONSUMER = next(c for c in wiring.CONSUMERS if c.name == "content-users")
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    """An ISO 8601 UTC timestamp `seconds` after T0, as the users domain writes them."""
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def bus_event(
    detail_type: str, data: dict[str, Any], *, occurred_at: str | None = None
) -> dict[str, Any]:
    """An EventBridge event of `detail_type` as a consumer receives it (the sample's shape),
    with fresh ids and this data; validated against its schema."""
    event = copy.deepcopy(sample_events.bus_event(detail_type))
    event["id"] = str(uuid.uuid4())
    event["detail"]["eventId"] = str(uuid.uuid4())
    event["detail"]["correlationId"] = f"corr-{uuid.uuid4().hex}"
    event["detail"]["data"] = data
    if occurred_at is not None:
        event["detail"]["occurredAt"] = occurred_at
    event_schemas.validate(event)
    return event


def redelivered(event: dict[str, Any]) -> dict[str, Any]:
    """The same event again (EventBridge retried it, or the relay published it twice)."""
    again = copy.deepcopy(event)
    again["id"] = str(uuid.uuid4())
    return again


def profile(
    user_id: str, username: str, first: str | None, last: str | None, **stamp: str
) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": username,
        "firstName": first,
        "lastName": last,
        "bio": "",
        **stamp,
    }


def registered(
    user_id: str,
    username: str = "alice",
    first: str | None = "Alice",
    last: str | None = "Liddell",
    *,
    version: float = 0,
) -> dict[str, Any]:
    data = profile(user_id, username, first, last, role="user", createdAt=at(version))
    return bus_event("user.registered", data)


def updated(
    user_id: str, first: str | None, last: str | None, *, version: float, username: str = "alice"
) -> dict[str, Any]:
    data = profile(user_id, username, first, last, updatedAt=at(version))
    return bus_event("user.updated", data)


def deactivated(user_id: str, *, version: float, username: str = "alice") -> dict[str, Any]:
    return bus_event(
        "user.deactivated", {"id": user_id, "username": username, "updatedAt": at(version)}
    )


def follow_event(
    detail_type: str, follower: str, followee: str, *, occurred: float
) -> dict[str, Any]:
    return bus_event(
        detail_type, {"followerId": follower, "followeeId": followee}, occurred_at=at(occurred)
    )


def apply(event: dict[str, Any]) -> str:
    """Invoke the consumer as Lambda does; the status it reports."""
    result = users_events.handler(event, None)
    assert result["eventId"] == event["detail"]["eventId"]
    return result["status"]


class ContentDb:
    """The content database, read with the tests' own connection."""

    def __init__(self, url: str) -> None:
        self.url = url

    def rows(self, query: str, **params: Any) -> list[dict[str, Any]]:
        conn = inspector(self.url)
        found = conn.run(query, **params) or []
        names = [c["name"] for c in conn.columns or ()]
        return [dict(zip(names, r, strict=True)) for r in found]

    def author(self, user_id: str) -> dict[str, Any] | None:
        found = self.rows(
            "SELECT username, first_name, last_name, is_active, version"
            " FROM authors WHERE user_id = CAST(:id AS uuid)",
            id=user_id,
        )
        return found[0] if found else None

    def follow(self, follower: str, author: str) -> dict[str, Any] | None:
        found = self.rows(
            "SELECT following, changed_at FROM follows"
            " WHERE follower_id = CAST(:f AS uuid) AND author_id = CAST(:a AS uuid)",
            f=follower,
            a=author,
        )
        return found[0] if found else None

    def processed(self) -> int:
        return int(
            self.rows(
                "SELECT count(*) AS n FROM processed_events WHERE consumer = 'content-users'"
            )[0]["n"]
        )


@pytest.fixture
def content(clean_databases: dict[str, str]) -> ContentDb:
    return ContentDb(clean_databases["content"])


def names(row: dict[str, Any] | None) -> tuple[Any, ...]:
    assert row is not None
    return (row["username"], row["first_name"], row["last_name"], row["is_active"])


# --- the consumer, called as Lambda calls it -------------------------------------------


def test_the_consumer_is_wired_to_the_users_events_it_keeps() -> None:
    assert CONSUMER.handler == "content.consumers.users_events.handler"
    assert CONSUMER.access == wiring.DB
    assert set(CONSUMER.events) == set(users_events.consumer.effects)
    assert CONSUMER.pattern()["source"] == ["inkwell.users"]


def test_registered_creates_the_author(content: ContentDb) -> None:
    user_id = str(uuid.uuid4())
    assert apply(registered(user_id, version=5)) == "processed"
    row = content.author(user_id)
    assert names(row) == ("alice", "Alice", "Liddell", True)
    assert row is not None and row["version"] == T0 + timedelta(seconds=5)


def test_a_newer_update_renames_an_older_one_is_ignored(content: ContentDb) -> None:
    user_id = str(uuid.uuid4())
    apply(registered(user_id, version=0))
    assert apply(updated(user_id, "Alicia", "Smith", version=20)) == "processed"
    assert names(content.author(user_id)) == ("alice", "Alicia", "Smith", True)

    # Delivered late: older than what the row has. Processed (remembered), no effect.
    assert apply(updated(user_id, "Ally", None, version=10)) == "processed"
    assert apply(registered(user_id, "alice", "Old", "Name", version=0)) == "processed"
    row = content.author(user_id)
    assert names(row) == ("alice", "Alicia", "Smith", True)
    assert row is not None and row["version"] == T0 + timedelta(seconds=20)

    assert apply(updated(user_id, "Alex", "Jones", version=30)) == "processed"
    assert names(content.author(user_id)) == ("alice", "Alex", "Jones", True)


def test_updates_arriving_before_the_registration_are_kept(content: ContentDb) -> None:
    user_id = str(uuid.uuid4())
    apply(updated(user_id, "Second", None, version=10))
    apply(registered(user_id, "alice", "First", None, version=0))
    assert names(content.author(user_id)) == ("alice", "Second", None, True)


def test_the_same_event_twice_has_one_effect(content: ContentDb) -> None:
    user_id = str(uuid.uuid4())
    first = updated(user_id, "Once", None, version=10)
    assert apply(first) == "processed"
    # Another writer changed the row since (as a newer event would have).
    changed = content.rows(
        "UPDATE authors SET first_name = 'Changed', version = version - interval '1 hour'"
        " WHERE user_id = CAST(:id AS uuid) RETURNING user_id",
        id=user_id,
    )
    assert len(changed) == 1
    # The redelivered event would win on version alone: only its id stops it.
    assert users_events.handler(first, None) == {
        "status": "duplicate",
        "eventId": first["detail"]["eventId"],
    }
    assert apply(redelivered(first)) == "duplicate"
    assert names(content.author(user_id)) == ("alice", "Changed", None, True)
    assert content.processed() == 1


def test_deactivated_hides_the_author_and_an_older_update_cannot_revive_or_rename(
    content: ContentDb,
) -> None:
    user_id = str(uuid.uuid4())
    apply(registered(user_id, version=0))
    assert apply(deactivated(user_id, version=30)) == "processed"
    row = content.author(user_id)
    assert names(row) == ("alice", "Alice", "Liddell", False)
    assert row is not None and row["version"] == T0 + timedelta(seconds=30)

    apply(updated(user_id, "Late", "Update", version=20))  # written before the deactivation
    assert names(content.author(user_id)) == ("alice", "Alice", "Liddell", False)
    apply(registered(user_id, "alice", "First", "Name", version=0))
    assert names(content.author(user_id)) == ("alice", "Alice", "Liddell", False)


def test_deactivated_before_anything_else_records_an_inactive_author(
    content: ContentDb,
) -> None:
    user_id = str(uuid.uuid4())
    apply(deactivated(user_id, version=30, username="ghost"))
    assert names(content.author(user_id)) == ("ghost", None, None, False)
    apply(registered(user_id, "ghost", "Gone", "Soon", version=0))
    apply(updated(user_id, "Gone", "Later", version=20))
    assert names(content.author(user_id)) == ("ghost", None, None, False)


def test_deactivation_wins_even_over_a_row_that_looks_newer(content: ContentDb) -> None:
    user_id = str(uuid.uuid4())
    apply(updated(user_id, "Newer", None, version=40))
    apply(deactivated(user_id, version=30))
    row = content.author(user_id)
    assert names(row) == ("alice", "Newer", None, False)
    assert row is not None and row["version"] == T0 + timedelta(seconds=40)


def test_a_row_created_from_token_claims_is_overwritten_by_registered(
    content: ContentDb,
) -> None:
    user_id = str(uuid.uuid4())
    # What content writes when a post arrives before the author's user.registered.
    content.rows(
        "INSERT INTO authors (user_id, username, version)"
        " VALUES (CAST(:id AS uuid), 'alice', '-infinity') RETURNING user_id",
        id=user_id,
    )
    assert names(content.author(user_id)) == ("alice", None, None, True)
    apply(registered(user_id, version=0))
    row = content.author(user_id)
    assert names(row) == ("alice", "Alice", "Liddell", True)
    assert row is not None and row["version"] == T0


def test_followed_then_unfollowed_leaves_a_tombstone(content: ContentDb) -> None:
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    assert apply(follow_event("user.followed", alice, bob, occurred=10)) == "processed"
    assert content.follow(alice, bob) == {
        "following": True,
        "changed_at": T0 + timedelta(seconds=10),
    }
    assert apply(follow_event("user.unfollowed", alice, bob, occurred=20)) == "processed"
    assert content.follow(alice, bob) == {
        "following": False,
        "changed_at": T0 + timedelta(seconds=20),
    }
    assert content.follow(bob, alice) is None  # one way
    assert apply(follow_event("user.followed", alice, bob, occurred=30)) == "processed"
    assert content.follow(alice, bob) == {
        "following": True,
        "changed_at": T0 + timedelta(seconds=30),
    }


def test_out_of_order_follow_events_end_in_the_latest_state(content: ContentDb) -> None:
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    followed = follow_event("user.followed", alice, bob, occurred=10)
    unfollowed = follow_event("user.unfollowed", alice, bob, occurred=20)
    apply(unfollowed)  # the later change arrives first
    apply(followed)
    assert content.follow(alice, bob) == {
        "following": False,
        "changed_at": T0 + timedelta(seconds=20),
    }
    # And the other way round for another pair: the later follow wins over an older unfollow.
    apply(follow_event("user.followed", bob, alice, occurred=40))
    apply(follow_event("user.unfollowed", bob, alice, occurred=35))
    assert content.follow(bob, alice) == {
        "following": True,
        "changed_at": T0 + timedelta(seconds=40),
    }
    # Redelivered: remembered, no second effect.
    assert apply(redelivered(followed)) == "duplicate"
    assert content.processed() == 4


def test_an_event_the_effect_cannot_use_is_not_remembered(content: ContentDb) -> None:
    event = follow_event("user.followed", str(uuid.uuid4()), str(uuid.uuid4()), occurred=1)
    event["detail"]["data"]["followerId"] = "not-a-uuid"
    with pytest.raises(InvalidEvent):  # rolled back; Lambda retries it, then dead-letters it
        users_events.handler(event, None)
    assert content.processed() == 0
    assert content.rows("SELECT * FROM follows") == []


# --- through the local bus ------------------------------------------------------------


def put(bus: LocalEventBus, event: dict[str, Any]) -> None:
    answer = bus.put_events(
        {
            "Entries": [
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "EventBusName": bus.bus_name,
                }
            ]
        }
    )
    assert answer["FailedEntryCount"] == 0, answer


def test_out_of_order_events_on_the_bus_end_in_the_latest_state(
    content: ContentDb, event_bus: LocalEventBus
) -> None:
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    watch = BusWatch(event_bus)
    put(event_bus, follow_event("user.unfollowed", alice, bob, occurred=20))
    put(event_bus, updated(bob, "Robert", None, version=20, username="bob"))
    put(event_bus, follow_event("user.followed", alice, bob, occurred=10))
    put(event_bus, registered(bob, "bob", "Bob", None, version=0))
    assert event_bus.drain(10)
    mine = [d for d in watch.deliveries() if d["consumer"] == CONSUMER.name]
    assert [d["status"] for d in mine] == ["ok"] * 4
    assert content.follow(alice, bob) == {
        "following": False,
        "changed_at": T0 + timedelta(seconds=20),
    }
    assert names(content.author(bob)) == ("bob", "Robert", None, True)


def test_users_api_changes_reach_the_content_read_models(
    api: Api, content: ContentDb, event_bus: LocalEventBus
) -> None:
    watch = BusWatch(event_bus)
    alice = sign_up(api, "alice", firstName="Alice", lastName="Liddell")
    bob = sign_up(api, "bob")
    assert api.call("POST", f"{USERS}/{bob.id}/follow", token=alice.token).status == 204
    assert api.call("POST", f"{USERS}/{alice.id}/follow", token=bob.token).status == 204
    assert event_bus.drain(10)

    assert names(content.author(alice.id)) == ("alice", "Alice", "Liddell", True)
    assert names(content.author(bob.id)) == ("bob", None, None, True)
    assert content.follow(alice.id, bob.id)["following"] is True  # type: ignore[index]
    assert content.follow(bob.id, alice.id)["following"] is True  # type: ignore[index]

    renamed = api.call("PATCH", f"{USERS}/{alice.id}", {"firstName": "Alicia"}, token=alice.token)
    assert renamed.status == 200
    assert api.call("DELETE", f"{USERS}/{bob.id}/follow", token=alice.token).status == 204
    assert api.call("DELETE", f"{USERS}/{bob.id}", token=bob.token).status == 204
    assert event_bus.drain(10)

    alice_row = content.author(alice.id)
    assert names(alice_row) == ("alice", "Alicia", "Liddell", True)
    assert alice_row is not None
    assert alice_row["version"] == datetime.fromisoformat(renamed.json()["updatedAt"])
    assert names(content.author(bob.id)) == ("bob", None, None, False)
    assert content.follow(alice.id, bob.id)["following"] is False  # type: ignore[index]
    assert content.follow(bob.id, alice.id)["following"] is True  # type: ignore[index]

    mine = [d for d in watch.deliveries() if d["consumer"] == CONSUMER.name]
    # 2 registered, 2 followed, 1 updated, 1 unfollowed, 1 deactivated: each applied once.
    assert [d["status"] for d in mine] == ["ok"] * 7
    assert content.processed() == 7
    assert watch.dead_letters() == []


def test_racing_follows_and_unfollows_end_in_the_same_state_in_both_domains(
    api: Api, content: ContentDb, event_bus: LocalEventBus
) -> None:
    """Follows and unfollows of one pair at once, their events published in whatever order
    the threads finish: content ends where users ended (occurredAt orders the changes)."""
    alice = sign_up(api, "alice")
    bob = sign_up(api, "bob")
    caller = Principal(alice.id, alice.username, "user")

    def follow() -> None:
        service.follow_user(bob.id, caller)

    def unfollow() -> None:
        service.unfollow_user(bob.id, caller)

    for round_ in range(6):
        assert race([follow, unfollow] * 4 if round_ % 2 else [unfollow, follow] * 4).refused == []
        assert event_bus.drain(10)
        in_users = bool(
            sql(
                "SELECT 1 FROM follows WHERE follower_id = CAST(:f AS uuid)"
                " AND followee_id = CAST(:a AS uuid)",
                f=alice.id,
                a=bob.id,
            )
        )
        row = content.follow(alice.id, bob.id)
        assert row is not None and row["following"] is in_users, round_
