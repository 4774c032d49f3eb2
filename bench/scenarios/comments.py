"""The comments routes' scenarios: route name -> Scenario.

Seeded: one post open for comments (its read-model row, as comments-posts writes it from
post.published) with 30 approved top-level comments (page 1 is full) and 25 pending ones of
a first-time commenter (the moderation queue's page 1 is full); 30 notifications of the
notified user; and per call of a write, the comment or notification that call needs. The
trusted commenter's new comments are approved at once; edits fall in the edit window.
"""

from __future__ import annotations

import secrets
from typing import Any

from bench.scenarios import Scenario, full_page
from bench.world import Event, User, World, http_event
from wiring import route_by_name as route

BODY = (
    "Measured the same thing on our side: the cold start is mostly imports, and moving the"
    " client construction out of the handler took a third off. Thanks for writing it up."
)


def open_post(w: World) -> str:
    """The post every scenario comments on, with its seeded comments."""

    def seed() -> str:
        slug = w.names("cpost", 1)[0]
        post = str(
            w.sql(
                "comments",
                "INSERT INTO posts (post_id, author_id, title, slug, is_open, version)"
                " VALUES (gen_random_uuid(), CAST(:a AS uuid), :t, :s, true, now())"
                " RETURNING post_id",
                a=w.actor("post-author").id,
                t=f"Post {slug}",
                s=slug,
            )[0][0]
        )
        comments(w, post, w.actor("commenter"), 15)
        comments(w, post, w.actor("c-reader"), 15)
        comments(w, post, w.actor("newbie"), 25, status="pending")
        notifications(w, w.actor("notified"), w.actor("commenter"), post, 30)
        return post

    return w.once("comments-post", seed)


def comments(w: World, post: str, author: User, n: int, status: str = "approved") -> list[str]:
    """`n` top-level comments, oldest first, the last a moment ago, as insert_comment
    writes them (a thread key of their own; pending ones have queued_at). Their ids."""
    rows = w.sql(
        "comments",
        "INSERT INTO comments (id, post_id, post_author_id, author_id, body, status,"
        " created_at, queued_at, thread_at, thread_id)"
        " SELECT g.id, p.post_id, p.author_id, CAST(:author AS uuid),"
        "  CAST(:body AS text) || ' (' || g.i || ')', CAST(:status AS text), g.at,"
        "  CASE WHEN CAST(:status AS text) = 'pending' THEN g.at END, g.at, g.id"
        " FROM posts p, LATERAL (SELECT gen_random_uuid() AS id, i,"
        "  clock_timestamp() - make_interval(secs => (CAST(:n AS integer) - i) * 0.01)"
        "  AS at FROM generate_series(1, CAST(:n AS integer)) AS i) g"
        " WHERE p.post_id = CAST(:post AS uuid) ORDER BY g.i RETURNING id",
        post=post,
        author=author.id,
        body=BODY,
        status=status,
        n=n,
    )
    return [str(r[0]) for r in rows]


def notifications(w: World, recipient: User, actor: User, post: str, n: int) -> list[str]:
    """`n` unread notifications of `recipient`, as comments-notify writes them."""
    rows = w.sql(
        "comments",
        "INSERT INTO notifications (recipient_id, kind, event_id, post_id, comment_id,"
        " actor_id, subject, text, created_at)"
        " SELECT CAST(:me AS uuid), 'comment', gen_random_uuid(), CAST(:post AS uuid),"
        "  gen_random_uuid(), CAST(:actor AS uuid), :subject, :text,"
        "  clock_timestamp() - make_interval(secs => (CAST(:n AS integer) - i) * 0.01)"
        " FROM generate_series(1, CAST(:n AS integer)) AS i ORDER BY i RETURNING id",
        me=recipient.id,
        actor=actor.id,
        post=post,
        n=n,
        subject=f'{actor.username} commented on "Bench post"',
        text=f"{actor.username} wrote:\n\n{BODY}",
    )
    return [str(r[0]) for r in rows]


def call(name: str, who: str, role: str = "user", body: Any = None) -> Any:
    """Calls of `name` by `who`, on the post when the route takes an id."""

    def events(w: World, n: int) -> list[Event]:
        post, caller = open_post(w), w.actor(who, role)
        target = post if "{id}" in route(name).path else None
        return [
            http_event(
                route(name),
                target=target,
                caller=caller,
                token=w.token(caller),
                body=body() if callable(body) else body,
            )
            for _ in range(n)
        ]

    return events


def on_own_comment(
    name: str, who: str, status: str = "approved", role: str = "user", body: Any = None
) -> Any:
    """Each call on a comment of its own (the commenter's, or the newbie's when pending)."""

    def events(w: World, n: int) -> list[Event]:
        post, caller = open_post(w), w.actor(who, role)
        author = w.actor("newbie" if status == "pending" else "commenter")
        return [
            http_event(route(name), target=c, caller=caller, token=w.token(caller), body=body)
            for c in comments(w, post, author, n, status)
        ]

    return events


def mark_read(w: World, n: int) -> list[Event]:
    marker = w.actor("marker")
    found = notifications(w, marker, w.actor("commenter"), open_post(w), n)
    return [
        http_event(
            route("comments-mark-notifications-read"),
            caller=marker,
            token=w.token(marker),
            body={"ids": [i]},
        )
        for i in found
    ]


def new_body() -> dict[str, str]:
    return {"body": f"{BODY} [{secrets.token_hex(5)}]"}


SCENARIOS: dict[str, Scenario] = {
    "comments-create-comment": Scenario(
        call("comments-create-comment", "commenter", body=new_body),
        201,
        5,
        lambda b: b["status"] == "approved",
    ),
    "comments-list-comments": Scenario(
        call("comments-list-comments", "c-reader"), 200, 1, full_page
    ),
    "comments-update-comment": Scenario(
        on_own_comment("comments-update-comment", "commenter", body={"body": f"Edited {BODY}"}),
        200,
        5,
        lambda b: bool(b["editedAt"]),
    ),
    "comments-delete-comment": Scenario(
        on_own_comment("comments-delete-comment", "commenter"), 204, 5
    ),
    "comments-moderation-queue": Scenario(
        call("comments-moderation-queue", "moderator", "moderator"), 200, 2, full_page
    ),
    "comments-moderate-comment": Scenario(
        on_own_comment(
            "comments-moderate-comment", "moderator", "pending", "moderator", {"action": "approve"}
        ),
        200,
        5,
        lambda b: b["status"] == "approved",
    ),
    "comments-report-comment": Scenario(
        on_own_comment("comments-report-comment", "c-reader", body={"reason": "Off topic."}), 204, 5
    ),
    "comments-list-notifications": Scenario(
        call("comments-list-notifications", "notified"), 200, 1, full_page
    ),
    "comments-mark-notifications-read": Scenario(mark_read, 204, 2),
}
