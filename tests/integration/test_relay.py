"""The outbox relay on real PostgreSQL and the local bus: EventBridge down during a request,
the relay publishing later exactly once, concurrent relays, order, grace, retention."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

import pytest

import wiring
from inkwell import relay
from inkwell.db import database
from local.bus import LocalEventBus, scheduled_event
from local.dispatch import ExecutionEnvironment
from tests.conftest import Api
from tests.integration.conftest import Logs
from tests.integration.events_support import (
    BusWatch,
    audit_log,
    closed_port,
    events_endpoint,
    insert_outbox_rows,
    outbox,
    processed_events,
)
from tests.integration.support import PASSWORD, USERS, inspector, race, sql


def register(api: Api, username: str) -> dict[str, Any]:
    response = api.call(
        "POST",
        f"{USERS}/register",
        {"username": username, "email": f"{username}@example.com", "password": PASSWORD},
    )
    assert response.status == 201, response.body
    body: dict[str, Any] = response.json()
    return body


def test_eventbridge_down_during_the_request_then_the_relay_publishes_once(
    api: Api, event_bus: LocalEventBus, logs: Logs
) -> None:
    watch = BusWatch(event_bus)
    with events_endpoint(f"http://127.0.0.1:{closed_port()}/"):
        user = register(api, "offline")
    # The change is committed and answered; its event waits in the outbox.
    (row,) = outbox()
    assert row["detail_type"] == "user.registered"
    assert row["detail"]["data"]["id"] == user["id"]
    assert row["published_at"] is None
    assert "events left for the relay" in logs.text
    assert event_bus.drain(10)
    assert watch.events() == [] and audit_log() == []

    db = database("users")
    first = relay.run(db, grace_s=0)
    assert (first.published, first.failed) == (1, 0)
    (row,) = outbox()
    assert row["published_at"] is not None
    assert event_bus.drain(10)
    (trail,) = audit_log()
    assert str(trail["event_id"]) == str(row["event_id"])
    assert str(trail["user_id"]) == user["id"]
    assert trail["detail_type"] == "user.registered"

    # Published rows are not published again; the consumer applied it once.
    assert relay.run(db, grace_s=0).published == 0
    assert event_bus.drain(10)
    assert watch.event_ids() == [str(row["event_id"])]
    assert [d["status"] for d in watch.deliveries("users-audit")] == ["ok"]
    assert len(audit_log()) == 1 and len(processed_events()) == 1


def test_relay_records_failed_attempts_and_leaves_rows_for_later(
    clean_databases: dict[str, str], event_bus: LocalEventBus
) -> None:
    rows = insert_outbox_rows(3)
    db = database("users")
    with events_endpoint(f"http://127.0.0.1:{closed_port()}/"):
        first = relay.run(db, grace_s=0)
        second = relay.relay_once(db, grace_s=0)
    assert (first.published, first.failed) == (0, 3)
    assert (second.published, second.failed) == (0, 3)
    stored = outbox()
    assert [r["attempts"] for r in stored] == [2, 2, 2]
    assert all(r["published_at"] is None for r in stored)
    assert all("PutEvents failed" in r["last_error"] for r in stored)
    assert relay.oldest_unpublished_age_s(db) >= 60

    watch = BusWatch(event_bus)
    assert relay.run(db, grace_s=0).published == 3
    assert watch.event_ids() == [str(r["event_id"]) for r in rows]
    assert all(r["published_at"] is not None for r in outbox())
    assert relay.oldest_unpublished_age_s(db) == 0


def test_relay_without_a_bus_name_publishes_nothing(
    clean_databases: dict[str, str], event_bus: LocalEventBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    insert_outbox_rows(2)
    monkeypatch.delenv("INKWELL_EVENT_BUS_NAME")
    watch = BusWatch(event_bus)
    result = relay.run(database("users"), grace_s=0)
    assert (result.published, result.failed) == (0, 2)
    assert watch.events() == []
    assert {r["last_error"] for r in outbox()} == {"INKWELL_EVENT_BUS_NAME is not set"}


def test_concurrent_relays_publish_each_event_exactly_once(
    clean_databases: dict[str, str], event_bus: LocalEventBus
) -> None:
    rows = insert_outbox_rows(300)
    db = database("users")
    watch = BusWatch(event_bus)
    results = race([lambda: relay.run(db, grace_s=0)] * 2).results  # a connection each
    # Either relay may stop early (a short batch); what is left is published by the next run.
    leftover = relay.run(db, grace_s=0)
    assert sum(r.failed for r in results) == 0
    assert sum(r.published for r in results) + leftover.published == 300
    counts = Counter(watch.event_ids())
    assert set(counts) == {str(r["event_id"]) for r in rows}
    assert [eid for eid, n in counts.items() if n > 1] == []
    assert all(r["published_at"] is not None for r in outbox())


def test_a_relay_skips_rows_another_relay_holds(
    clean_databases: dict[str, str], event_bus: LocalEventBus
) -> None:
    rows = insert_outbox_rows(30)
    held = [r["id"] for r in rows[:10]]
    other = inspector(clean_databases["users"])  # another relay, mid-batch
    other.run("BEGIN")
    try:
        other.run(
            "SELECT id FROM outbox WHERE id = ANY(CAST(:ids AS bigint[])) FOR UPDATE", ids=held
        )
        watch = BusWatch(event_bus)
        result = relay.run(database("users"), grace_s=0)
        assert result.published == 20
        assert watch.event_ids() == [str(r["event_id"]) for r in rows[10:]]
    finally:
        other.run("ROLLBACK")
    result = relay.run(database("users"), grace_s=0)
    assert result.published == 10
    assert Counter(watch.event_ids()) == Counter(str(r["event_id"]) for r in rows)


def test_relay_publishes_oldest_first(
    clean_databases: dict[str, str], event_bus: LocalEventBus
) -> None:
    rows = insert_outbox_rows(25)
    db = database("users")
    watch = BusWatch(event_bus)
    step = relay.relay_once(db, grace_s=0, batch=7)
    assert step.published == 7
    assert watch.event_ids() == [str(r["event_id"]) for r in rows[:7]]
    assert [r["published_at"] is not None for r in outbox()] == [True] * 7 + [False] * 18
    assert relay.run(db, grace_s=0).published == 18
    assert watch.event_ids() == [str(r["event_id"]) for r in rows]


def test_relay_drains_more_than_one_batch(
    clean_databases: dict[str, str], event_bus: LocalEventBus
) -> None:
    insert_outbox_rows(relay.BATCH + 5)
    watch = BusWatch(event_bus)
    result = relay.run(database("users"), grace_s=0)
    assert result.published == relay.BATCH + 5
    assert len(watch.events()) == relay.BATCH + 5


def test_relay_leaves_rows_younger_than_the_grace_period_to_their_writer(
    clean_databases: dict[str, str], event_bus: LocalEventBus
) -> None:
    insert_outbox_rows(2, age_s=0)
    watch = BusWatch(event_bus)
    assert relay.run(database("users"), grace_s=3600).published == 0
    assert watch.events() == []
    assert all(r["published_at"] is None for r in outbox())
    assert relay.run(database("users"), grace_s=0).published == 2


def test_clean_up_deletes_only_published_rows_older_than_the_retention(
    clean_databases: dict[str, str],
) -> None:
    fresh = insert_outbox_rows(1, published=True)
    old = insert_outbox_rows(2, published=True)
    unpublished_old = insert_outbox_rows(1, age_s=30 * 86400)
    sql(
        "UPDATE outbox SET published_at = now() - interval '8 days'"
        " WHERE id = ANY(CAST(:ids AS bigint[]))",
        ids=[r["id"] for r in old],
    )
    sql(
        "UPDATE outbox SET published_at = now() - interval '6 days' WHERE id = :id",
        id=fresh[0]["id"],
    )
    assert relay.clean_up(database("users"), retention_s=7 * 86400) == 2
    remaining = {r["id"] for r in outbox()}
    assert remaining == {fresh[0]["id"], unpublished_old[0]["id"]}
    assert relay.clean_up(database("users"), retention_s=7 * 86400) == 0


def test_relay_run_cleans_up_with_the_configured_retention(
    clean_databases: dict[str, str], event_bus: LocalEventBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = insert_outbox_rows(1, published=True)
    gone = insert_outbox_rows(1, published=True)
    sql(
        "UPDATE outbox SET published_at = now() - interval '2 hours' WHERE id = :id",
        id=gone[0]["id"],
    )
    monkeypatch.setenv("INKWELL_OUTBOX_RETENTION_SECONDS", "3600")
    assert relay.run(database("users"), grace_s=0).cleaned == 1
    assert [r["id"] for r in outbox()] == [kept[0]["id"]]


def test_oldest_unpublished_age(clean_databases: dict[str, str]) -> None:
    db = database("users")
    assert relay.oldest_unpublished_age_s(db) == 0
    insert_outbox_rows(1, published=True, age_s=86400)  # published: does not count
    assert relay.oldest_unpublished_age_s(db) == 0
    insert_outbox_rows(1, age_s=120)
    insert_outbox_rows(1, age_s=30)
    age = relay.oldest_unpublished_age_s(db)
    assert 120 <= age < 3600


def test_the_relay_lambda_publishes_and_reports_the_backlog(
    clean_databases: dict[str, str], event_bus: LocalEventBus
) -> None:
    (function,) = [r for r in wiring.RELAYS if r.domain == "users"]
    insert_outbox_rows(4, age_s=60)
    watch = BusWatch(event_bus)
    environment = ExecutionEnvironment("test-relay")
    try:
        result = environment.invoke(function, scheduled_event(function))
        assert result == {
            "published": 4,
            "failed": 0,
            "cleaned": 0,
            "oldestUnpublishedAgeSeconds": 0.0,
        }
        assert len(watch.events()) == 4
        with events_endpoint(f"http://127.0.0.1:{closed_port()}/"):
            insert_outbox_rows(1, age_s=90)
            stuck = environment.invoke(function, scheduled_event(function))
        assert (stuck["published"], stuck["failed"]) == (0, 1)
        assert stuck["oldestUnpublishedAgeSeconds"] >= 90
    finally:
        environment.close()


def test_a_row_published_twice_is_applied_once(api: Api, event_bus: LocalEventBus) -> None:
    """At least once: the relay may publish a row its writer already published (marking it
    failed, say); the consumer recognises the event id."""
    user = register(api, "twice")
    (row,) = outbox()
    assert row["published_at"] is not None
    assert event_bus.drain(10)
    sql("UPDATE outbox SET published_at = NULL, created_at = created_at - interval '1 minute'")
    watch = BusWatch(event_bus)
    assert relay.run(database("users"), grace_s=0).published == 1
    assert event_bus.drain(10)
    (again,) = watch.events()
    assert again["detail"]["eventId"] == str(row["event_id"])
    (delivery,) = watch.deliveries("users-audit")
    assert delivery["status"] == "ok" and delivery["result"]["status"] == "duplicate"
    (trail,) = audit_log()
    assert str(trail["user_id"]) == user["id"]


def test_unpublished_rows_survive_in_the_database_until_published(
    clean_databases: dict[str, str],
) -> None:
    """The outbox is durable state: rows the writer could not publish are there for any
    relay that runs later, on any connection."""
    insert_outbox_rows(1, data={"id": str(uuid.uuid4())})
    (row,) = sql("SELECT detail::text AS detail, published_at FROM outbox")
    assert row["published_at"] is None
    assert json.loads(row["detail"])["version"] == 1


def test_a_row_refused_max_attempts_times_is_parked_and_does_not_block_the_rest(
    clean_databases: dict[str, str], event_bus: LocalEventBus
) -> None:
    stuck, *others = insert_outbox_rows(3)
    sql(
        "UPDATE outbox SET attempts = :n, last_error = 'MalformedDetail: too big' WHERE id = :id",
        n=relay.MAX_ATTEMPTS,
        id=stuck["id"],
    )
    db = database("users")
    watch = BusWatch(event_bus)
    result = relay.run(db, grace_s=0)
    assert (result.published, result.failed) == (2, 0)
    assert watch.event_ids() == [str(r["event_id"]) for r in others]
    (parked,) = [r for r in outbox() if r["published_at"] is None]
    assert parked["id"] == stuck["id"] and parked["last_error"] == "MalformedDetail: too big"
    # ... and the backlog metric keeps pointing at it, so the alarm tells an operator.
    assert relay.oldest_unpublished_age_s(db) >= 60


def test_each_failed_row_keeps_its_own_reason(
    clean_databases: dict[str, str], event_bus: LocalEventBus
) -> None:
    good, bad = insert_outbox_rows(2)
    # The local bus refuses an entry whose detail-type is empty, entry by entry.
    sql("UPDATE outbox SET detail_type = '' WHERE id = :id", id=bad["id"])
    result = relay.run(database("users"), grace_s=0)
    assert (result.published, result.failed) == (1, 1)
    stored = {r["id"]: r for r in outbox()}
    assert stored[good["id"]]["last_error"] is None
    assert stored[good["id"]]["published_at"] is not None
    assert stored[bad["id"]]["attempts"] == 1
    assert "InvalidArgument" in stored[bad["id"]]["last_error"]


def test_clean_up_forgets_processed_event_ids_older_than_the_retention(
    clean_databases: dict[str, str],
) -> None:
    old, recent = str(uuid.uuid4()), str(uuid.uuid4())
    for event_id, age in ((old, "8 days"), (recent, "1 day")):
        sql(
            "INSERT INTO processed_events (consumer, event_id, processed_at)"
            f" VALUES ('users-audit', CAST(:id AS uuid), now() - interval '{age}')",
            id=event_id,
        )
    relay.clean_up(database("users"), retention_s=7 * 86400)
    assert {str(r["event_id"]) for r in processed_events()} == {recent}
