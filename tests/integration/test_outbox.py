"""The transactional outbox on real PostgreSQL: every users state change writes exactly one
event in the same transaction as the change; nothing else writes one; a failed or
rolled-back change leaves none and publishes none; the writer publishes after commit."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import pytest

from inkwell import events
from inkwell.db import IntegrityConflict, database
from local import event_schemas
from local.bus import LocalEventBus
from tests.conftest import Api
from tests.integration.events_support import BusWatch, audit_log, outbox
from tests.integration.support import (
    PASSWORD,
    USERS,
    Account,
    assert_problem,
    sign_up,
    sql,
    user_row,
)
from users import repository


def profile(user_id: str) -> str:
    return f"{USERS}/{user_id}"


def new_rows(before: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen = {r["id"] for r in before}
    return [r for r in outbox() if r["id"] not in seen]


def the_event(before: list[dict[str, Any]], detail_type: str) -> dict[str, Any]:
    """The one outbox row written since `before`, which must be of `detail_type`."""
    rows = new_rows(before)
    assert [r["detail_type"] for r in rows] == [detail_type], rows
    row = rows[0]
    assert row["source"] == "inkwell.users"
    assert row["detail"]["eventId"] == str(row["event_id"])
    assert row["detail"]["version"] == 1
    assert "email" not in json.dumps(row["detail"]).lower()
    return row


def iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_register_writes_its_event_in_the_same_transaction_and_publishes_it(
    api: Api, event_bus: LocalEventBus
) -> None:
    watch = BusWatch(event_bus)
    request_id = f"req-{uuid.uuid4()}"
    response = api.call(
        "POST",
        f"{USERS}/register",
        {
            "username": "carol",
            "email": "carol@example.com",
            "password": PASSWORD,
            "firstName": "Carol",
            "lastName": "Danvers",
            "bio": "Higher, further, faster.",
        },
        headers={"X-Request-ID": request_id},
    )
    assert response.status == 201, response.body
    assert response.headers["x-request-id"] == request_id
    user = response.json()

    row = the_event([], "user.registered")
    users = user_row(user["id"])
    # now() is the transaction's start time: equal stamps mean one transaction.
    assert row["created_at"] == users["created_at"]
    assert row["detail"]["correlationId"] == request_id
    assert row["detail"]["data"] == {
        "id": user["id"],
        "username": "carol",
        "firstName": "Carol",
        "lastName": "Danvers",
        "bio": "Higher, further, faster.",
        "role": "user",
        "createdAt": row["detail"]["data"]["createdAt"],
    }
    assert iso(row["detail"]["data"]["createdAt"]) == users["created_at"]
    assert "carol@example.com" not in json.dumps(row["detail"])
    # The writer published it after commit and marked it, before answering.
    assert row["published_at"] is not None and row["published_at"] >= row["created_at"]
    assert row["attempts"] == 0 and row["last_error"] is None
    (published,) = watch.events()
    assert published["detail"] == row["detail"]
    event_schemas.validate(published)


def test_profile_change_announces_user_updated(api: Api, alice: Account) -> None:
    before = outbox()
    response = api.call(
        "PATCH",
        profile(alice.id),
        {"firstName": "Alicia", "lastName": None, "bio": "Through the glass."},
        token=alice.token,
    )
    assert response.status == 200, response.body
    row = the_event(before, "user.updated")
    users = user_row(alice.id)
    assert row["created_at"] == users["updated_at"]
    data = row["detail"]["data"]
    assert data == {
        "id": alice.id,
        "username": "alice",
        "firstName": "Alicia",
        "lastName": None,
        "bio": "Through the glass.",
        "updatedAt": data["updatedAt"],
    }
    assert iso(data["updatedAt"]) == users["updated_at"] == iso(response.json()["updatedAt"])
    assert row["published_at"] is not None


def test_each_public_field_alone_announces_an_update(api: Api, alice: Account) -> None:
    for change in ({"firstName": "Al"}, {"lastName": "Li"}, {"bio": "b"}):
        before = outbox()
        assert api.call("PATCH", profile(alice.id), change, token=alice.token).status == 200
        the_event(before, "user.updated")


def test_email_only_change_announces_nothing(api: Api, alice: Account) -> None:
    before = outbox()
    response = api.call(
        "PATCH", profile(alice.id), {"email": "alice@wonderland.example"}, token=alice.token
    )
    assert response.status == 200, response.body
    assert user_row(alice.id)["email"] == "alice@wonderland.example"
    assert api.call("PATCH", profile(alice.id), {}, token=alice.token).status == 200
    assert new_rows(before) == []


def test_email_and_bio_change_announces_without_the_email(api: Api, alice: Account) -> None:
    before = outbox()
    response = api.call(
        "PATCH",
        profile(alice.id),
        {"email": "alice@wonderland.example", "bio": "Curiouser."},
        token=alice.token,
    )
    assert response.status == 200, response.body
    row = the_event(before, "user.updated")
    assert row["detail"]["data"]["bio"] == "Curiouser."
    assert "wonderland" not in json.dumps(row["detail"])


def test_role_change_announces_once_per_real_change(
    api: Api, alice: Account, admin: Account
) -> None:
    path = f"{profile(alice.id)}/role"
    before = outbox()
    assert api.call("PUT", path, {"role": "moderator"}, token=admin.token).status == 200
    row = the_event(before, "user.role_changed")
    assert row["detail"]["data"]["role"] == "moderator"
    assert set(row["detail"]["data"]) == {"id", "username", "role", "updatedAt"}
    assert row["created_at"] == user_row(alice.id)["updated_at"]

    before = outbox()
    again = api.call("PUT", path, {"role": "moderator"}, token=admin.token)
    assert again.status == 200 and again.json()["role"] == "moderator"
    assert new_rows(before) == []

    assert api.call("PUT", path, {"role": "user"}, token=admin.token).status == 200
    assert the_event(before, "user.role_changed")["detail"]["data"]["role"] == "user"


def test_deactivation_announces_once(api: Api, alice: Account, admin: Account) -> None:
    before = outbox()
    assert api.call("DELETE", profile(alice.id), token=alice.token).status == 204
    row = the_event(before, "user.deactivated")
    assert set(row["detail"]["data"]) == {"id", "username", "updatedAt"}
    assert row["created_at"] == user_row(alice.id)["updated_at"]

    before = outbox()
    assert api.call("DELETE", profile(alice.id), token=admin.token).status == 204
    assert new_rows(before) == []
    # A deactivated account cannot be updated, so nothing is announced for it either.
    assert_problem(api.call("PATCH", profile(alice.id), {"bio": "back"}, token=admin.token), 404)
    assert new_rows(before) == []


def test_a_change_that_fails_leaves_no_event(api: Api, alice: Account, bob: Account) -> None:
    before = outbox()
    duplicate = api.call(
        "POST",
        f"{USERS}/register",
        {"username": "ALICE", "email": "another@example.com", "password": PASSWORD},
    )
    assert_problem(duplicate, 409)
    taken_email = api.call(
        "PATCH",
        profile(alice.id),
        {"email": "BOB@example.com", "bio": "stolen identity"},
        token=alice.token,
    )
    assert_problem(taken_email, 409)
    forbidden = api.call("PATCH", profile(alice.id), {"bio": "pwned"}, token=bob.token)
    assert_problem(forbidden, 403)
    unknown = api.call("DELETE", profile(str(uuid.uuid4())), token=bob.token)
    assert_problem(unknown, 403)
    assert new_rows(before) == []
    assert user_row(alice.id)["bio"] == "Down the hole."
    assert int(sql("SELECT count(*) AS n FROM users")[0]["n"]) == 2


def test_a_constraint_violation_inside_a_statement_writes_no_event(
    api: Api, alice: Account
) -> None:
    db = database("users")
    before = outbox()
    with pytest.raises(IntegrityConflict) as caught, db.transaction() as s:
        repository.set_role(s, alice.id, "root")  # the CHECK constraint refuses it
    assert caught.value.sqlstate == "23514"
    assert new_rows(before) == []
    assert user_row(alice.id)["role"] == "user"


def test_a_rolled_back_transaction_leaves_no_change_no_event_and_publishes_nothing(
    api: Api, event_bus: LocalEventBus
) -> None:
    db = database("users")
    watch = BusWatch(event_bus)

    class Abort(Exception):
        pass

    with pytest.raises(Abort), db.transaction() as s:
        row = repository.insert_user(
            s,
            username="ghost",
            email="ghost@example.com",
            password_hash="x" * 60,
            first_name=None,
            last_name=None,
            bio="",
        )
        assert row["username"] == "ghost"
        # The event was written (the statement returned it) but is not published yet.
        assert [e.detail_type for e in events.emitted(s)] == ["user.registered"]
        assert s.row("SELECT count(*) AS n FROM outbox") == {"n": 1}
        assert watch.events() == []
        raise Abort

    assert sql("SELECT count(*) AS n FROM users WHERE username = 'ghost'") == [{"n": 0}]
    assert outbox() == []
    assert event_bus.drain(10)
    assert watch.events() == []
    assert watch.deliveries() == []
    assert audit_log() == []

    # The same call committed does publish: the test above could have failed.
    with db.transaction() as s:
        repository.insert_user(
            s,
            username="ghost",
            email="ghost@example.com",
            password_hash="x" * 60,
            first_name=None,
            last_name=None,
            bio="",
        )
    assert [e["detail-type"] for e in watch.events()] == ["user.registered"]
    assert outbox()[0]["published_at"] is not None


def test_every_change_is_published_once_valid_and_consumed_once(
    api: Api, event_bus: LocalEventBus
) -> None:
    watch = BusWatch(event_bus)
    admin = sign_up(api, "root_admin", role="admin")
    dora = sign_up(api, "dora", firstName="Dora")
    request_ids = [f"trace-{i}-{uuid.uuid4().hex}" for i in range(3)]
    calls = [
        ("PATCH", profile(dora.id), {"bio": "Explorer."}, dora.token),
        ("PUT", f"{profile(dora.id)}/role", {"role": "moderator"}, admin.token),
        ("DELETE", profile(dora.id), None, admin.token),
    ]
    for request_id, (method, path, body, token) in zip(request_ids, calls, strict=True):
        response = api.call(method, path, body, token=token, headers={"X-Request-ID": request_id})
        assert response.status in (200, 204), response.body

    rows = outbox()
    assert [r["detail_type"] for r in rows] == [
        "user.registered",
        "user.registered",
        "user.updated",
        "user.role_changed",
        "user.deactivated",
    ]
    assert all(r["published_at"] is not None for r in rows)
    assert [r["detail"]["correlationId"] for r in rows[2:]] == request_ids
    published = watch.events()
    assert [e["detail"]["eventId"] for e in published] == [str(r["event_id"]) for r in rows]
    for event in published:
        event_schemas.validate(event)
        assert event["source"] == "inkwell.users"

    assert event_bus.drain(10)
    trail = audit_log()
    assert sorted(str(r["event_id"]) for r in trail) == sorted(str(r["event_id"]) for r in rows)
    assert {r["correlation_id"] for r in trail} >= set(request_ids)
    assert [d["status"] for d in watch.deliveries("users-audit")] == ["ok"] * len(rows)
    assert {d["status"] for d in watch.deliveries()} == {"ok"}  # every other consumer too
