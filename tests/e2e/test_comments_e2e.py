"""Comments end to end through `make run`'s own process (`python -m local.run`): one user
publishes a post, another comments (their first comment waits for moderation), the post's
author approves it and is notified, a reply notifies the commenter, reports send the comment
back to the queue, and the notifications are emailed through the log transport. Events
travel between the domains over the platform's local bus, so every step that depends on one
waits for it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import pytest

import wiring
from tests.e2e.local_run import LocalRun

pytestmark = pytest.mark.e2e

API = wiring.API_PREFIX
PASSWORD = "e2e-password-1"
WAIT_S = 15

T = TypeVar("T")


def eventually(what: str, probe: Callable[[], T | None], run: LocalRun) -> T:
    """`probe()` once it is not None: what another domain learns by an event takes a moment."""
    deadline = time.monotonic() + WAIT_S
    while True:
        found = probe()
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"{what}: not within {WAIT_S}s\n{run.output()}"
        time.sleep(0.1)


def expect(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def test_comment_moderate_notify_reply_report(running: LocalRun) -> None:
    client = httpx.Client(base_url=running.url, timeout=10)

    def sign_in(username: str) -> tuple[str, dict[str, str]]:
        user = expect(
            client.post(
                f"{API}/users/register",
                json={
                    "username": username,
                    "email": f"{username}@example.com",
                    "password": PASSWORD,
                },
            ),
            201,
        )
        tokens = expect(
            client.post(f"{API}/users/login", json={"username": username, "password": PASSWORD})
        )
        return user["id"], {"Authorization": f"Bearer {tokens['token']}"}

    def notifications(headers: dict[str, str], kind: str) -> dict[str, Any] | None:
        page = expect(client.get(f"{API}/notifications", headers=headers))
        return next((n for n in page["items"] if n["kind"] == kind), None)

    alice_id, alice = sign_in("alice")
    bob_id, bob = sign_in("bob")

    # Alice publishes; comments learns the post is open from post.published.
    post = expect(
        client.post(
            f"{API}/posts",
            headers=alice,
            json={
                "title": "Down the Rabbit Hole",
                "body": "Alice was beginning to get very tired.",
            },
        ),
        201,
    )
    expect(client.post(f"{API}/posts/{post['id']}/publish", headers=alice))
    comments_path = f"{API}/posts/{post['id']}/comments"
    eventually(
        "the post opens for comments",
        lambda: client.get(comments_path).status_code == 200 or None,
        running,
    )

    # Bob's first comment waits for moderation: only he (and moderators) see it.
    comment = expect(
        client.post(comments_path, headers=bob, json={"body": "Curiouser and curiouser!"}), 201
    )
    assert (comment["status"], comment["author"]["username"]) == ("pending", "bob")
    assert expect(client.get(comments_path))["items"] == []
    assert [c["id"] for c in expect(client.get(comments_path, headers=bob))["items"]] == [
        comment["id"]
    ]

    # The post's author finds it in her queue and approves it.
    queue = expect(client.get(f"{API}/comments/moderation", headers=alice))
    assert [c["id"] for c in queue["items"]] == [comment["id"]]
    expect(
        client.post(
            f"{API}/comments/{comment['id']}/moderate", headers=bob, json={"action": "approve"}
        ),
        403,
    )
    approved = expect(
        client.post(
            f"{API}/comments/{comment['id']}/moderate",
            headers=alice,
            json={"action": "approve", "reason": "Welcome!"},
        )
    )
    assert approved["status"] == "approved"
    assert [c["id"] for c in expect(client.get(comments_path))["items"]] == [comment["id"]]

    # Alice is notified of the new approved comment, Bob of the decision.
    on_post = eventually("alice's notification", lambda: notifications(alice, "comment"), running)
    assert on_post["commentId"] == comment["id"]
    assert on_post["actor"] == {"id": bob_id, "username": "bob"}
    decision = eventually("bob's notification", lambda: notifications(bob, "approved"), running)
    assert "Welcome!" in decision["text"]

    # Alice replies (a post's author is never held); Bob is notified of the reply.
    reply = expect(
        client.post(
            comments_path,
            headers=alice,
            json={"body": "Glad you came down the hole.", "parentId": comment["id"]},
        ),
        201,
    )
    assert reply["status"] == "approved" and reply["parentId"] == comment["id"]
    listed = expect(client.get(comments_path))["items"]
    assert [(c["id"], c["replyCount"]) for c in listed] == [(comment["id"], 1), (reply["id"], 0)]
    replied = eventually("bob's reply notification", lambda: notifications(bob, "reply"), running)
    assert replied["actor"] == {"id": alice_id, "username": "alice"}
    page = expect(client.get(f"{API}/notifications", headers=bob))
    assert page["unreadCount"] == 2
    expect(client.post(f"{API}/notifications/read", headers=bob, json={}), 204)
    assert expect(client.get(f"{API}/notifications", headers=bob))["unreadCount"] == 0

    # Readers report Bob's comment: enough reports send it back to the queue.
    for reader in ("carol", "dave", "erin"):
        _, headers = sign_in(reader)
        response = client.post(
            f"{API}/comments/{comment['id']}/report", headers=headers, json={"reason": "Off topic."}
        )
        assert response.status_code == 204, response.text
    queue = expect(client.get(f"{API}/comments/moderation", headers=alice))
    assert [(c["id"], c["reportCount"]) for c in queue["items"]] == [(comment["id"], 3)]
    assert [c["id"] for c in expect(client.get(comments_path))["items"]] == [reply["id"]]

    # The notifications went out by email, written to make run's log (addresses masked).
    output = eventually(
        "the emails in the log",
        lambda: running.output() if "replied to your comment" in running.output() else None,
        running,
    )
    assert 'bob commented on \\"Down the Rabbit Hole\\"' in output or (
        'bob commented on "Down the Rabbit Hole"' in output
    )
    assert "bob@example.com" not in output
    assert "Traceback" not in output
    client.close()
