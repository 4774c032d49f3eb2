"""The comments routes' scenarios (`local.bench.scenarios.build` adds them).

The comments database is seeded with plain SQL, in bulk, before any clock starts:

- the read models the comments consumers keep from the other domains' events: one open
  post (`posts`, as comments-posts writes it from post.published) by the post's author,
  and a `commenters` row per bench user that comments or is notified (as comments-users
  writes them from the users events);
- comments on that post, written as the repository writes them (a top-level comment's
  thread key is its own created_at and id, a pending one has queued_at): 30 approved
  top-level comments by a trusted commenter and by others (so page 1 is full and has a
  nextCursor), 25 pending comments of a first-time commenter (the moderation queue's page 1
  is full), and per call of a write the comment that call needs, in the state its operation
  changes;
- notifications: 30 for the notified user (page 1 is full), and per call of mark-read an
  unread one of its own.

Every call gets fresh, valid input and takes the success path:

- create-comment: the trusted commenter (who has approved comments, so the policy approves
  the new one at once) writes a new top-level comment;
- update-comment: the commenter edits an approved comment of its own, written moments
  before (within the 15-minute edit window), with a new body;
- delete-comment: the commenter deletes a comment of its own without replies;
- moderation-queue: page 1 of the whole queue, as a moderator;
- moderate-comment: a moderator approves a pending comment of its own;
- report-comment: a reader reports an approved comment of its own (one report: below the
  threshold that sends it back to the queue);
- list-comments: page 1 of the post's comments, signed-in reader;
- list-notifications: page 1 of the notified user's notifications, with the unread count;
- mark-notifications-read: the marker marks one unread notification of its own (by id).

The bare twins replay the recorded SQL; a write's twin swaps in the id of its own comment
(and the new body), or the id of its notification.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

import wiring
from local.bench.content_scenarios import responds
from local.bench.scenarios import BareWork, Event, Seeder, SeedUser, bare_handler, http_event

Add = Callable[..., None]

CORPUS = 30  # approved top-level comments on the post: page 1 is full, a next page exists
QUEUE = 25  # pending comments: page 1 of the moderation queue is full
NOTIFICATIONS = 30
BODY = (
    "Measured the same thing on our side: the cold start is mostly imports, and moving the"
    " client construction out of the handler took a third off. Thanks for writing it up."
)


class CommentsSeeder:
    """Read-model rows, comments and notifications in the comments database, with SQL."""

    def __init__(self, seeder: Seeder) -> None:
        self.seeder = seeder

    def commenters(self, users: list[SeedUser]) -> None:
        """The commenters read-model rows of `users`, as comments-users writes them."""
        self.seeder.comments.run(
            "INSERT INTO commenters (user_id, username, first_name, last_name, is_active,"
            " version)"
            " SELECT u, n, 'Bench', 'User', true, now()"
            " FROM unnest(CAST(:ids AS uuid[]), CAST(:names AS text[])) AS t(u, n)"
            " ON CONFLICT (user_id) DO NOTHING",
            ids=[u.id for u in users], names=[u.username for u in users],
        )

    def open_post(self, author: SeedUser) -> str:
        """A published post's read-model row (what comments-posts writes from
        post.published): open for comments. Its id."""
        slug = self.seeder.names("cpost", 1)[0]
        rows = self.seeder.comments.run(
            "INSERT INTO posts (post_id, author_id, title, slug, is_open, version)"
            " VALUES (gen_random_uuid(), CAST(:author AS uuid), :title, :slug, true, now())"
            " RETURNING post_id",
            author=author.id, title=f"Bench post {slug}", slug=slug,
        )
        return str(rows[0][0])

    def comments(self, post_id: str, author: SeedUser, n: int, *,
                 status: str = "approved") -> list[str]:
        """`n` top-level comments of `author` on the post, oldest first (the last a moment
        ago, so within the edit window), as insert_comment writes them. Their ids."""
        if n <= 0:
            return []
        rows = self.seeder.comments.run(
            "INSERT INTO comments (id, post_id, post_author_id, author_id, body, status,"
            " created_at, queued_at, thread_at, thread_id)"
            " SELECT g.id, p.post_id, p.author_id, CAST(:author AS uuid),"
            "  CAST(:body AS text) || ' (' || g.i || ')', CAST(:status AS text), g.at,"
            "  CASE WHEN CAST(:status AS text) = 'pending' THEN g.at END, g.at, g.id"
            " FROM posts p, LATERAL (SELECT gen_random_uuid() AS id, i,"
            "  clock_timestamp() - make_interval(secs => (CAST(:n AS integer) - i) * 0.01)"
            "  AS at FROM generate_series(1, CAST(:n AS integer)) AS i) g"
            " WHERE p.post_id = CAST(:post AS uuid) ORDER BY g.i"
            " RETURNING id",
            post=post_id, author=author.id, body=BODY, status=status, n=n,
        )
        return [str(r[0]) for r in rows]

    def notifications(self, recipient: SeedUser, actor: SeedUser, post_id: str, n: int,
                      ) -> list[str]:
        """`n` unread 'comment' notifications of `recipient` about comments of `actor`
        (as comments-notify writes them), newest last. Their ids."""
        rows = self.seeder.comments.run(
            "INSERT INTO notifications (recipient_id, kind, event_id, post_id, comment_id,"
            " actor_id, subject, text, created_at)"
            " SELECT CAST(:me AS uuid), 'comment', gen_random_uuid(), CAST(:post AS uuid),"
            "  gen_random_uuid(), CAST(:actor AS uuid), :subject, :text,"
            "  clock_timestamp() - make_interval(secs => (CAST(:n AS integer) - i) * 0.01)"
            " FROM generate_series(1, CAST(:n AS integer)) AS i ORDER BY i"
            " RETURNING id",
            me=recipient.id, actor=actor.id, post=post_id, n=n,
            subject=f'{actor.username} commented on "Bench post"',
            text=f"{actor.username} wrote:\n\n{BODY}",
        )
        return [str(r[0]) for r in rows]


def _body(event: Event) -> Any:
    return json.loads(event["body"]) if event.get("body") else None


def _path_id(event: Event) -> str:
    return str((event.get("pathParameters") or {})["id"])


def _full_page(body: Any) -> bool:
    return len(body["items"]) == 20 and bool(body["nextCursor"])


def add_all(seeder: Seeder, add: Add) -> None:
    """Seed the comments database and add a scenario per comments route."""
    db = CommentsSeeder(seeder)
    post_author = seeder.user("c-author")
    commenter = seeder.user("commenter")  # trusted: has approved comments
    newbie = seeder.user("newbie")  # first-time commenter: held
    reader = seeder.user("c-reader")
    moderator = seeder.user("moderator", role="moderator")
    notified = seeder.user("notified")
    marker = seeder.user("marker")
    db.commenters([post_author, commenter, newbie, reader, moderator, notified, marker])
    post = db.open_post(post_author)
    db.comments(post, commenter, CORPUS // 2)
    db.comments(post, reader, CORPUS - CORPUS // 2)
    db.comments(post, newbie, QUEUE, status="pending")
    db.notifications(notified, commenter, post, NOTIFICATIONS)
    tokens = {u.id: seeder.access_token(u)
              for u in (commenter, reader, moderator, notified, marker)}

    def route(name: str) -> wiring.Route:
        return wiring.route_by_name(name)

    def on(name: str, target: str, caller: SeedUser, body: Any = None) -> Event:
        r = route(name)
        return http_event(r, r.path.replace("{id}", target), body=body, caller=caller,
                          token=tokens[caller.id], path_parameters={"id": target})

    def by_id(event: Event) -> BareWork:
        return {"id": _path_id(event)}, None

    def by_id_no_body(event: Event) -> BareWork:
        return {"id": _path_id(event)}, lambda _: None

    def no_overrides(_: Event) -> BareWork:
        return {}, None

    # --- create_comment: the trusted commenter, a new top-level comment (approved at once)
    def create_events(n: int) -> list[Event]:
        return [on("comments-create-comment", post, commenter,
                   body={"body": f"{BODY} [{secrets.token_hex(5)}]"}) for _ in range(n)]

    def create_bare(event: Event) -> BareWork:
        return {"body": _body(event)["body"]}, None

    add("comments-create-comment", events=create_events,
        check=responds(201, lambda b: b["status"] == "approved"), expected="201 approved",
        bare=bare_handler(create_bare, 201), bare_overrides=frozenset({"body"}))

    # --- list_comments: page 1 of the post's comments, signed-in reader
    def list_events(n: int) -> list[Event]:
        return [on("comments-list-comments", post, reader) for _ in range(n)]

    add("comments-list-comments", events=list_events, check=responds(200, _full_page),
        expected="200, 20 items + nextCursor", bare=bare_handler(no_overrides, 200))

    # --- update_comment: a new body on an approved comment of its own, in the edit window
    def update_events(n: int) -> list[Event]:
        return [on("comments-update-comment", comment_id, commenter,
                   body={"body": f"Edited: {BODY} [{secrets.token_hex(5)}]"})
                for comment_id in db.comments(post, commenter, n)]

    def update_bare(event: Event) -> BareWork:
        return {"id": _path_id(event), "body": _body(event)["body"]}, None

    add("comments-update-comment", events=update_events,
        check=responds(200, lambda b: b["status"] == "approved" and b["editedAt"]),
        expected="200 edited", bare=bare_handler(update_bare, 200),
        bare_overrides=frozenset({"id", "body"}))

    # --- delete_comment: a comment of its own, without replies
    def delete_events(n: int) -> list[Event]:
        return [on("comments-delete-comment", comment_id, commenter)
                for comment_id in db.comments(post, commenter, n)]

    add("comments-delete-comment", events=delete_events, check=responds(204),
        expected="204", bare=bare_handler(by_id_no_body, 204),
        bare_overrides=frozenset({"id"}))

    # --- moderation_queue: page 1 of the whole queue, moderator
    def queue_events(n: int) -> list[Event]:
        r = route("comments-moderation-queue")
        return [http_event(r, r.path, caller=moderator, token=tokens[moderator.id])
                for _ in range(n)]

    add("comments-moderation-queue", events=queue_events, check=responds(200, _full_page),
        expected="200, 20 items + nextCursor", bare=bare_handler(no_overrides, 200))

    # --- moderate_comment: a moderator approves a pending comment of its own
    def moderate_events(n: int) -> list[Event]:
        return [on("comments-moderate-comment", comment_id, moderator,
                   body={"action": "approve"})
                for comment_id in db.comments(post, newbie, n, status="pending")]

    add("comments-moderate-comment", events=moderate_events,
        check=responds(200, lambda b: b["status"] == "approved"), expected="200 approved",
        bare=bare_handler(by_id, 200), bare_overrides=frozenset({"id"}))

    # --- report_comment: the reader reports an approved comment of its own
    def report_events(n: int) -> list[Event]:
        return [on("comments-report-comment", comment_id, reader,
                   body={"reason": "Off topic."})
                for comment_id in db.comments(post, commenter, n)]

    add("comments-report-comment", events=report_events, check=responds(204),
        expected="204", bare=bare_handler(by_id_no_body, 204),
        bare_overrides=frozenset({"id"}))

    # --- list_notifications: page 1 and the unread count
    def notifications_events(n: int) -> list[Event]:
        r = route("comments-list-notifications")
        return [http_event(r, r.path, caller=notified, token=tokens[notified.id])
                for _ in range(n)]

    add("comments-list-notifications", events=notifications_events,
        check=responds(200, lambda b: _full_page(b) and b["unreadCount"] >= NOTIFICATIONS),
        expected="200, 20 items + nextCursor, unreadCount",
        bare=bare_handler(no_overrides, 200))

    # --- mark_notifications_read: one unread notification of its own, by id
    def mark_events(n: int) -> list[Event]:
        r = route("comments-mark-notifications-read")
        return [http_event(r, r.path, caller=marker, token=tokens[marker.id],
                           body={"ids": [notification]})
                for notification in db.notifications(marker, commenter, post, n)]

    def mark_bare(event: Event) -> BareWork:
        return {"ids": _body(event)["ids"]}, lambda _: None

    add("comments-mark-notifications-read", events=mark_events, check=responds(204),
        expected="204", bare=bare_handler(mark_bare, 204), bare_overrides=frozenset({"ids"}))
