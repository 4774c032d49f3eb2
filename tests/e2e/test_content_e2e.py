"""Content end to end over real HTTP through the local gateway: a user writes a draft, tags
it, publishes it (now, and at a time: the local scheduler's tick publishes it), sees it in
the public list, the tag list and a follower's feed, edits it and deletes it. Responses are
checked against the OpenAPI document."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

import wiring
from local import gateway, invoke, sample_events
from local.bus import LocalEventBus, ScheduleTimer
from local.dispatch import ExecutionEnvironment
from tests.integration.content_support import content_sql

pytestmark = pytest.mark.e2e

API = wiring.API_PREFIX
PASSWORD = "correct horse battery"


def schema_check(document: dict[str, Any], name: str, instance: Any) -> None:
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    Draft202012Validator(schema).validate(instance)


def expect(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["x-request-id"]
    return response.json() if response.content else None


def sign_in(client: httpx.Client, username: str) -> tuple[str, dict[str, str]]:
    user = expect(
        client.post(
            f"{API}/users/register",
            json={
                "username": username,
                "email": f"{username}@example.com",
                "password": PASSWORD,
                "firstName": username.title(),
            },
        ),
        201,
    )
    tokens = expect(
        client.post(f"{API}/users/login", json={"username": username, "password": PASSWORD})
    )
    return user["id"], {"Authorization": f"Bearer {tokens['token']}"}


def listed(
    client: httpx.Client, path: str, headers: dict[str, str] | None = None, **params: str
) -> list[str]:
    return [
        item["slug"] for item in expect(client.get(path, headers=headers, params=params))["items"]
    ]


def test_write_tag_publish_follow_edit_delete(
    client: httpx.Client, event_bus: LocalEventBus
) -> None:
    document = client.get(gateway.OPENAPI_PATH).json()
    alice_id, alice = sign_in(client, "alice")
    bob_id, bob = sign_in(client, "bob")
    assert event_bus.drain()

    # A draft: only its author sees it.
    draft = expect(
        client.post(
            f"{API}/posts",
            headers=alice,
            json={
                "title": "Down the Rabbit Hole",
                "body": "Alice was beginning to get very tired.",
                "summary": "How it began.",
            },
        ),
        201,
    )
    schema_check(document, "Post", draft)
    assert (draft["status"], draft["author"]["firstName"]) == ("draft", "Alice")
    slug = draft["slug"]
    assert listed(client, f"{API}/posts") == []
    assert expect(client.get(f"{API}/posts/{slug}"), 404)["status"] == 404
    mine = expect(client.get(f"{API}/users/me/posts", headers=alice))
    schema_check(document, "Page_PostSummary_", mine)
    assert [i["slug"] for i in mine["items"]] == [slug]

    # Tag it, publish it: public, tagged, in a follower's feed.
    tagged = expect(
        client.patch(
            f"{API}/posts/{draft['id']}", headers=alice, json={"tags": ["Wonderland", "rabbits"]}
        )
    )
    assert tagged["tags"] == ["wonderland", "rabbits"]
    expect(client.post(f"{API}/posts/{draft['id']}/publish", headers=bob), 404)  # a draft
    post = expect(client.post(f"{API}/posts/{draft['id']}/publish", headers=alice))
    assert post["status"] == "published" and post["publishedAt"]
    assert listed(client, f"{API}/posts") == [slug]
    assert listed(client, f"{API}/posts", tag="wonderland") == [slug]
    assert listed(client, f"{API}/posts", author="alice", q="tired") == [slug]
    tags = expect(client.get(f"{API}/tags"))
    schema_check(document, "TagList", tags)
    assert tags["items"] == [{"tag": "rabbits", "count": 1}, {"tag": "wonderland", "count": 1}]
    read = expect(client.get(f"{API}/posts/{slug}"))
    assert read["body"] == "Alice was beginning to get very tired."

    followed = client.post(f"{API}/users/{alice_id}/follow", headers=bob)
    assert followed.status_code in (200, 201, 204), followed.text
    assert event_bus.drain()  # user.followed reached content's read model
    assert listed(client, f"{API}/feed", headers=bob) == [slug]
    favorite = expect(client.post(f"{API}/posts/{post['id']}/favorite", headers=bob))
    assert (favorite["favoritesCount"], favorite["favorited"]) == (1, True)

    # Scheduled: published by the local scheduler's tick (make run's timer), not by a call.
    later = expect(
        client.post(
            f"{API}/posts",
            headers=alice,
            json={"title": "Through the Looking-Glass", "tags": ["wonderland"]},
        ),
        201,
    )
    when = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    scheduled = expect(
        client.post(f"{API}/posts/{later['id']}/publish", headers=alice, json={"publishAt": when})
    )
    assert scheduled["status"] == "scheduled"
    assert listed(client, f"{API}/posts") == [slug]
    content_sql(
        "UPDATE posts SET publish_at = now() WHERE id = CAST(:id AS uuid)", id=later["id"]
    )  # its time has come
    environment = ExecutionEnvironment("inkwell-scheduled")
    try:
        ScheduleTimer.for_scheduled(environment).run_relay()  # one tick
    finally:
        environment.close()
    assert listed(client, f"{API}/posts") == [later["slug"], slug]
    assert listed(client, f"{API}/feed", headers=bob) == [later["slug"], slug]
    assert expect(client.get(f"{API}/tags"))["items"][0] == {"tag": "wonderland", "count": 2}

    # Edit: the title changes, the published slug does not.
    edited = expect(
        client.patch(f"{API}/posts/{post['id']}", headers=alice, json={"title": "Down, Down, Down"})
    )
    assert (edited["title"], edited["slug"]) == ("Down, Down, Down", slug)
    assert expect(client.get(f"{API}/posts/{slug}"))["title"] == "Down, Down, Down"
    expect(client.patch(f"{API}/posts/{post['id']}", headers=bob, json={"title": "x"}), 403)

    # Delete: gone from the lists and the tags.
    response = client.delete(f"{API}/posts/{post['id']}", headers=alice)
    assert response.status_code == 204 and response.content == b""
    expect(client.get(f"{API}/posts/{slug}"), 404)
    assert listed(client, f"{API}/posts") == [later["slug"]]
    assert expect(client.get(f"{API}/tags"))["items"] == [{"tag": "wonderland", "count": 1}]
    assert listed(client, f"{API}/users/me/posts", headers=bob) == []
    assert bob_id not in {p["author"]["id"] for p in expect(client.get(f"{API}/posts"))["items"]}


def test_the_content_samples_are_invocable(clean_databases: dict[str, str]) -> None:
    """`make invoke FN=content-... EVENT=events/content-....json` against the test databases."""

    def run(name: str) -> dict[str, Any]:
        out = io.StringIO()
        code = invoke.run(name, sample_events.EVENTS_DIR / f"{name}.json", out)
        assert code == 0, out.getvalue()
        result: dict[str, Any] = json.loads(out.getvalue())
        return result

    created = run("content-create-post")  # Alice, from her claims: no users event needed
    assert created["statusCode"] == 201, created["body"]
    post = json.loads(created["body"])
    assert (post["slug"], post["tags"]) == (sample_events.POST_SLUG, ["wonderland", "rabbits"])
    assert post["author"]["id"] == sample_events.ALICE_ID
    assert run("content-get-post")["statusCode"] == 404  # a draft, and the sample is anonymous
    assert json.loads(run("content-list-my-posts")["body"])["items"][0]["id"] == post["id"]
    assert json.loads(run("content-list-posts")["body"]) == {"items": [], "nextCursor": None}
    assert run("content-publish-post")["statusCode"] == 404  # the sample's id is not this post
    assert run("content-publish-scheduled") == {"published": 0}
    assert run("content-maintenance") == {"applied": []}
