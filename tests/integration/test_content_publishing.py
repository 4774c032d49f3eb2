"""Publishing: now, at a time (the scheduled publisher), unpublishing; published_tags kept
in step; every state change announced once, in its transaction, to the schema, on the bus."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import wiring
from content import service
from content.jobs import publish_scheduled
from local import event_schemas
from local.bus import LocalEventBus, scheduled_event
from local.dispatch import context_for
from tests.conftest import Api
from tests.integration.content_support import (
    POSTS,
    TAGS,
    content_sql,
    events_since,
    ids,
    ok,
    outbox,
    post_path,
    publish,
    published,
    write,
)
from tests.integration.events_support import BusWatch
from tests.integration.support import Account, assert_problem, error_fields

SCHEDULER = next(f for f in wiring.SCHEDULED if f.name == "content-publish-scheduled")


def iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def at(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat().replace("+00:00", "Z")


def post_tags() -> list[tuple[str, str]]:
    rows = content_sql("SELECT tag, post_id FROM published_tags ORDER BY tag, post_id")
    return [(r["tag"], str(r["post_id"])) for r in rows]


def run_scheduler() -> dict[str, Any]:
    """The scheduled function, called as EventBridge Scheduler calls it."""
    event = scheduled_event(SCHEDULER)
    result = publish_scheduled.handler(event, context_for(SCHEDULER))
    assert isinstance(result, dict)
    result["eventId"] = event["id"]
    return result


def make_due(post_id: str) -> int:
    """Move a scheduled post's time into the past; how many posts that was (0 or 1)."""
    return len(
        content_sql(
            "UPDATE posts SET publish_at = now() - interval '1 second'"
            " WHERE id = CAST(:id AS uuid) AND status = 'scheduled' RETURNING id",
            id=post_id,
        )
    )


def public_ids(api: Api) -> list[str]:
    return ids(ok(api.call("GET", POSTS)))


# --- publish now ----------------------------------------------------------------------


def test_publish_now_makes_the_post_public_and_announces_it(
    api: Api, alice: Account, event_bus: LocalEventBus
) -> None:
    watch = BusWatch(event_bus)
    post = write(api, alice, tags=["Tea", "hats"])
    assert public_ids(api) == [] and post_tags() == []
    before = outbox()
    request_id = f"req-{uuid.uuid4()}"
    response = api.call(
        "POST",
        post_path(post["id"], "publish"),
        token=alice.token,
        headers={"X-Request-ID": request_id},
    )
    done = ok(response)
    assert done["status"] == "published" and done["publishAt"] is None
    assert iso(done["publishedAt"]) >= iso(post["createdAt"])
    assert public_ids(api) == [post["id"]]
    assert post_tags() == [("hats", post["id"]), ("tea", post["id"])]

    (event,) = events_since(before)
    assert event["detail_type"] == "post.published"
    assert event["detail"]["correlationId"] == request_id
    data = event["detail"]["data"]
    assert data == {
        "id": post["id"],
        "slug": post["slug"],
        "title": post["title"],
        "authorId": alice.id,
        "status": "published",
        "publishedAt": data["publishedAt"],
    }
    assert iso(data["publishedAt"]) == iso(done["publishedAt"])
    # Published after commit by the writer, and delivered by the local bus.
    assert event["published_at"] is not None
    assert event_bus.drain()
    delivered = watch.events("post.published")
    assert [e["detail"] for e in delivered] == [event["detail"]]
    event_schemas.validate(delivered[0])


def test_publishing_a_published_post_again_changes_nothing(api: Api, alice: Account) -> None:
    post = published(api, alice)
    before = outbox()
    assert publish(api, alice, post["id"]) == post
    assert events_since(before) == []
    response = api.call(
        "POST",
        post_path(post["id"], "publish"),
        {"publishAt": at(timedelta(days=1))},
        token=alice.token,
    )
    assert_problem(response, 409)
    assert ok(api.call("GET", post_path(post["id"]))) == post


def test_a_publish_at_in_the_past_is_422_and_publishes_nothing(api: Api, alice: Account) -> None:
    post = write(api, alice)
    before = outbox()
    response = api.call(
        "POST",
        post_path(post["id"], "publish"),
        {"publishAt": "2020-01-01T00:00:00Z"},
        token=alice.token,
    )
    assert error_fields(response) == {"publishAt"}
    assert "past" in response.json()["detail"]
    assert events_since(before) == []
    assert ok(api.call("GET", post_path(post["id"]), token=alice.token))["status"] == "draft"


@pytest.mark.parametrize("value", ["2030-01-01T00:00:00", "tomorrow", 12, ""])
def test_a_publish_at_without_a_time_zone_or_malformed_is_422(
    api: Api, alice: Account, value: Any
) -> None:
    post = write(api, alice)
    response = api.call(
        "POST", post_path(post["id"], "publish"), {"publishAt": value}, token=alice.token
    )
    assert "publishAt" in error_fields(response)
    assert ok(api.call("GET", post_path(post["id"]), token=alice.token))["status"] == "draft"


# --- scheduling -----------------------------------------------------------------------


def test_a_future_publish_at_schedules_and_the_scheduler_publishes_it(
    api: Api, alice: Account, bob: Account, event_bus: LocalEventBus
) -> None:
    post = write(api, alice, tags=["later"])
    when = at(timedelta(hours=2))
    before = outbox()
    scheduled = publish(api, alice, post["id"], publishAt=when)
    assert scheduled["status"] == "scheduled" and scheduled["publishedAt"] is None
    assert iso(scheduled["publishAt"]) == iso(when)
    (event,) = events_since(before)
    assert event["detail_type"] == "post.updated"
    assert event["detail"]["data"]["status"] == "scheduled"
    # Not public yet: not listed, not tagged, 404 to others.
    assert public_ids(api) == [] and post_tags() == []
    assert_problem(api.call("GET", post_path(post["id"]), token=bob.token), 404)
    assert (
        ok(api.call("GET", f"{POSTS[:-6]}/users/me/posts", token=alice.token))["items"][0]["status"]
        == "scheduled"
    )

    # Not due yet: the scheduler leaves it alone.
    before = outbox()
    assert run_scheduler()["published"] == 0
    assert events_since(before) == []

    make_due(post["id"])
    watch = BusWatch(event_bus)
    result = run_scheduler()
    assert result["published"] == 1
    got = ok(api.call("GET", post_path(post["id"]), token=bob.token))
    assert (got["status"], got["publishAt"]) == ("published", None)
    assert public_ids(api) == [post["id"]]
    assert post_tags() == [("later", post["id"])]
    (event,) = events_since(before)
    assert event["detail_type"] == "post.published"
    assert event["detail"]["correlationId"] == result["eventId"]
    assert event["detail"]["data"]["status"] == "published"
    assert iso(event["detail"]["data"]["publishedAt"]) == iso(got["publishedAt"])
    assert event_bus.drain()
    assert [e["detail"]["data"]["id"] for e in watch.events("post.published")] == [post["id"]]
    # The slug is locked as by any publish.
    edited = ok(api.call("PATCH", post_path(post["id"]), {"title": "Renamed"}, token=alice.token))
    assert edited["slug"] == post["slug"]
    assert run_scheduler()["published"] == 0


def test_the_scheduler_publishes_every_due_post_in_one_go_one_event_each(
    api: Api, alice: Account, bob: Account
) -> None:
    due = [
        write(api, account, f"Due {i}", tags=[f"t{i}"])
        for i, account in enumerate((alice, bob, alice))
    ]
    later = write(api, bob, "Later")
    for post in (*due, later):
        publish(
            api,
            alice if post["author"]["id"] == alice.id else bob,
            post["id"],
            publishAt=at(timedelta(hours=1)),
        )
    for post in due:
        make_due(post["id"])
    before = outbox()
    assert run_scheduler()["published"] == 3
    events = events_since(before)
    assert sorted(e["detail"]["data"]["id"] for e in events) == sorted(p["id"] for p in due)
    assert {e["detail_type"] for e in events} == {"post.published"}
    assert len({e["detail"]["eventId"] for e in events}) == 3
    assert sorted(public_ids(api)) == sorted(p["id"] for p in due)
    assert len(post_tags()) == 3
    assert ok(api.call("GET", post_path(later["id"]), token=bob.token))["status"] == "scheduled"


def test_the_scheduler_publishes_in_batches_until_none_is_due(
    api: Api, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "PUBLISH_BATCH", 2)
    for i in range(5):
        post = write(api, alice, f"Batch {i}")
        publish(api, alice, post["id"], publishAt=at(timedelta(minutes=5)))
        make_due(post["id"])
    assert run_scheduler()["published"] == 5
    assert len(outbox("post.published")) == 5


def test_rescheduling_moves_the_time_and_publish_now_overrides_it(api: Api, alice: Account) -> None:
    post = write(api, alice)
    publish(api, alice, post["id"], publishAt=at(timedelta(hours=1)))
    later = at(timedelta(days=2))
    moved = publish(api, alice, post["id"], publishAt=later)
    assert moved["status"] == "scheduled" and iso(moved["publishAt"]) == iso(later)
    now = publish(api, alice, post["id"])
    assert (now["status"], now["publishAt"]) == ("published", None)


# --- unpublish ------------------------------------------------------------------------


def test_unpublish_takes_the_post_back_to_draft_and_out_of_every_list(
    api: Api, alice: Account, bob: Account
) -> None:
    post = published(api, alice, tags=["gone"])
    before = outbox()
    draft = ok(api.call("POST", post_path(post["id"], "unpublish"), token=alice.token))
    assert (draft["status"], draft["publishedAt"], draft["slug"]) == ("draft", None, post["slug"])
    assert public_ids(api) == [] and post_tags() == []
    assert ok(api.call("GET", TAGS))["items"] == []
    assert_problem(api.call("GET", post_path(post["slug"]), token=bob.token), 404)
    (event,) = events_since(before)
    assert event["detail_type"] == "post.unpublished"
    assert event["detail"]["data"]["status"] == "draft"
    assert event["detail"]["data"]["publishedAt"] is None
    # Unpublishing a draft changes nothing.
    before = outbox()
    assert ok(api.call("POST", post_path(post["id"], "unpublish"), token=alice.token)) == draft
    assert events_since(before) == []
    # Published again, it is new again.
    again = publish(api, alice, post["id"])
    assert iso(again["publishedAt"]) > iso(post["publishedAt"])
    assert post_tags() == [("gone", post["id"])]


def test_unpublishing_a_scheduled_post_cancels_the_schedule(api: Api, alice: Account) -> None:
    post = write(api, alice)
    publish(api, alice, post["id"], publishAt=at(timedelta(hours=1)))
    draft = ok(api.call("POST", post_path(post["id"], "unpublish"), token=alice.token))
    assert (draft["status"], draft["publishAt"]) == ("draft", None)
    assert make_due(post["id"]) == 0  # not scheduled any more
    assert run_scheduler()["published"] == 0
    assert ok(api.call("GET", post_path(post["id"]), token=alice.token))["status"] == "draft"


def test_tag_edits_of_a_published_post_keep_published_tags_in_step(
    api: Api, alice: Account
) -> None:
    post = published(api, alice, tags=["a", "b"])
    ok(api.call("PATCH", post_path(post["id"]), {"tags": ["B", "c", "d"]}, token=alice.token))
    assert post_tags() == [("b", post["id"]), ("c", post["id"]), ("d", post["id"])]
    (row,) = content_sql("SELECT published_at FROM posts")
    stamps = content_sql("SELECT DISTINCT published_at FROM published_tags")
    assert stamps == [{"published_at": row["published_at"]}]
    ok(api.call("PATCH", post_path(post["id"]), {"tags": []}, token=alice.token))
    assert post_tags() == []
    ok(api.call("PATCH", post_path(post["id"]), {"title": "No tag change"}, token=alice.token))
    assert post_tags() == []


# --- events of every state change -----------------------------------------------------


def test_every_state_change_announces_exactly_one_valid_event(
    api: Api, alice: Account, bob: Account, event_bus: LocalEventBus
) -> None:
    watch = BusWatch(event_bus)
    post = write(api, alice, tags=["x"])
    pid = post["id"]
    ok(api.call("PATCH", post_path(pid), {"summary": "s"}, token=alice.token))
    publish(api, alice, pid, publishAt=at(timedelta(hours=1)))
    publish(api, alice, pid)
    ok(api.call("POST", post_path(pid, "favorite"), token=bob.token))  # not a post change
    ok(api.call("POST", post_path(pid, "unpublish"), token=alice.token))
    publish(api, alice, pid, publishAt=at(timedelta(hours=1)))
    make_due(pid)
    run_scheduler()
    assert api.call("DELETE", post_path(pid), token=alice.token).status == 204

    rows = events_since([])
    assert [(r["detail_type"], r["detail"]["data"]["status"]) for r in rows] == [
        ("post.created", "draft"),
        ("post.updated", "draft"),
        ("post.updated", "scheduled"),
        ("post.published", "published"),
        ("post.unpublished", "draft"),
        ("post.updated", "scheduled"),
        ("post.published", "published"),
        ("post.deleted", "published"),
    ]
    assert {r["detail"]["data"]["id"] for r in rows} == {pid}
    assert all(r["source"] == "inkwell.content" and r["published_at"] for r in rows)
    assert event_bus.drain()
    delivered = watch.events()
    content_events = [e for e in delivered if e["source"] == "inkwell.content"]
    assert [e["detail"]["eventId"] for e in content_events] == [
        r["detail"]["eventId"] for r in rows
    ]
    for event in content_events:
        event_schemas.validate(event)


def test_a_failed_write_announces_nothing(api: Api, alice: Account) -> None:
    post = write(api, alice)
    before = outbox()
    assert_problem(api.call("PATCH", post_path(post["id"]), {"title": ""}, token=alice.token), 422)
    assert_problem(
        api.call("POST", post_path(str(uuid.uuid4()), "publish"), token=alice.token), 404
    )
    assert events_since(before) == []
