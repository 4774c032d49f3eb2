"""Reads (and a few writes) at scale, through the real handlers.

content: 100,000 posts (about 10% drafts) by 1,000 authors over 200 tags, ~1.5 KB bodies
  made of a 200-word vocabulary, one theme word in ~1% of the posts each and a rare word
  only in the oldest 1%; the reader follows 50 authors.
comments: a post with 10,000 comments (4,000 threads of 0-3 replies: 6,000 replies), a
  few percent of them pending; the post's author has a notification for each comment of
  someone else, the newest 300 unread.

Deep pages are reached by walking the cursor through the handler itself (untimed), so the
cursor is the one a client would hold. Each read is declared as data (`Read`): a label,
the route, and how to build its event. Round trips are counted on the wire for one call of
each (bench.wire); the query plans are asserted by tests, not here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import wiring
from bench.results import Results
from bench.scenarios.content import TAGS as CONTENT_TAGS
from bench.warm import relayed
from bench.world import BUS_SAMPLES, Event, User, World, http_event
from local.dispatch import ExecutionEnvironment, context_for, load_handler

Say = Callable[[str], None]
Out = Callable[..., None]  # lines of the report
# the first ten of the content scenarios' tags, then enough for 200
TAGS = CONTENT_TAGS[:10] + [f"topic-{i:03d}" for i in range(190)]
_VOCABULARY = (
    "function cold start warm request response latency memory runtime handler import "
    "module package layer bundle deploy stack region account role policy permission "
    "secret token database query index table row column schema migration transaction "
    "commit rollback connection pool proxy socket network packet bandwidth throughput "
    "queue event stream topic message consumer producer retry backoff timeout error "
    "exception trace metric log alarm dashboard budget cost price invoice storage bucket "
    "object file cache hit miss eviction key value hash tree graph node edge vertex path "
    "route gateway endpoint method header body cookie session user group admin author "
    "reader writer editor draft post comment reply thread tag feed list page cursor "
    "offset limit order sort filter search"
)
WORDS = _VOCABULARY.split()
OLD_WORD, RARE_WORD, COMMON_WORD = "vintage", "theme42", "latency"

SEED_POSTS = (
    "WITH an AS (SELECT user_id, CAST(row_number() OVER (ORDER BY username) AS integer) - 1"
    "  AS n FROM authors WHERE username LIKE 'scale-author%'),"
    " v AS (SELECT CAST(:words AS text[]) AS w, cardinality(CAST(:words AS text[])) AS nw,"
    "  CAST(:tags AS text[]) AS t),"
    " paras AS (SELECT j, string_agg(v.w[1 + (j * 131 + k * 29 + k * k * 7) % v.nw], ' '"
    "  ORDER BY k) || '.' AS p FROM v, generate_series(0, 96) AS j,"
    "  generate_series(1, 100) AS k GROUP BY j)"
    " INSERT INTO posts (slug, title, summary, body, tags, status, author_id, published_at,"
    "  slug_locked, favorites_count, created_at, updated_at)"
    " SELECT 'scale-' || i, 'Notes on ' || v.w[1 + (i * 13) % v.nw] || ', part ' || i,"
    "  'What we learned in post ' || i || '.',"
    "  p1.p || ' theme' || (i % 97) || '. ' || p2.p"
    "   || CASE WHEN i > CAST(:old_from AS integer) THEN ' vintage.' ELSE '' END,"
    "  ARRAY[v.t[1 + i % 10], v.t[11 + (i * 7) % 40], v.t[51 + (i * 13) % 150]],"
    "  CASE WHEN draft THEN 'draft' ELSE 'published' END, an.user_id,"
    "  CASE WHEN draft THEN NULL ELSE stamp END, NOT draft, 0, stamp, stamp"
    " FROM generate_series(CAST(:n AS integer), 1, -1) AS i"
    "  JOIN an ON an.n = i % CAST(:authors AS integer)"
    "  JOIN paras p1 ON p1.j = i % 97 JOIN paras p2 ON p2.j = (i * 7) % 97 CROSS JOIN v,"
    "  LATERAL (SELECT now() - make_interval(mins => i * 5), (i * 7919) % 97 < 10)"
    "   AS s(stamp, draft)"
    " ORDER BY i DESC"
)
SEED_COMMENTS = (
    "WITH cm AS (SELECT array_agg(user_id) AS ids FROM commenters"
    "  WHERE username LIKE 'scale-commenter%'),"
    " top AS MATERIALIZED (SELECT gen_random_uuid() AS id, i, now() - interval '30 days'"
    "  + make_interval(secs => i * 600) AS at, i % 4 AS replies"
    "  FROM generate_series(1, CAST(:top AS integer)) AS i),"
    " r AS (SELECT top.id, CAST(NULL AS uuid) AS parent_id, top.i, 0 AS k, top.replies,"
    "  top.at AS created_at, top.id AS thread_id, top.at AS thread_at FROM top"
    "  UNION ALL SELECT gen_random_uuid(), top.id, top.i, k, top.replies,"
    "  top.at + make_interval(mins => k * 7), top.id, top.at"
    "  FROM top, generate_series(1, top.replies) AS k),"
    " s AS (SELECT r.*, cm.ids[1 + (r.i * 31 + r.k * 17) % cardinality(cm.ids)] AS author_id,"
    "  CASE WHEN r.replies = 0 AND r.i % 25 = 0 THEN 'pending' ELSE 'approved' END AS status"
    "  FROM r, cm)"
    " INSERT INTO comments (id, post_id, post_author_id, parent_id, author_id, body, status,"
    "  created_at, queued_at, thread_at, thread_id)"
    " SELECT s.id, CAST(:post AS uuid), CAST(:author AS uuid), s.parent_id, s.author_id,"
    "  'Comment ' || s.i || '.' || s.k || ': measured it too, the imports dominate.',"
    "  s.status, s.created_at, CASE WHEN s.status = 'pending' THEN s.created_at END,"
    "  s.thread_at, s.thread_id FROM s ORDER BY s.created_at"
)
SEED_NOTIFICATIONS = (
    "INSERT INTO notifications (recipient_id, kind, event_id, post_id, comment_id, actor_id,"
    "  subject, text, created_at, read_at)"
    " SELECT post_author_id, 'comment', gen_random_uuid(), post_id, id, author_id,"
    "  'New comment', left(body, 280), created_at + interval '1 second',"
    "  CASE WHEN row_number() OVER (ORDER BY created_at DESC) > 300"
    "   THEN created_at + interval '1 hour' END"
    " FROM comments WHERE post_id = CAST(:post AS uuid) AND status = 'approved'"
)


@dataclass(frozen=True)
class Read:
    label: str
    route: str
    event: Callable[[dict[str, Any], str | None], Event]  # (context, cursor) -> event
    page: int = 1  # > 1: walk the cursor to this page first
    every: int = 1  # slow reads: 1 call in `every`
    status: int = 200


def _q(route: str, caller: str | None = None, **query: str) -> Callable[..., Event]:
    def event(c: dict[str, Any], cursor: str | None) -> Event:
        user: User | None = c.get(caller) if caller else None
        return http_event(
            wiring.route_by_name(route),
            caller=user,
            token=World.token(user) if user else None,
            target=c.get("target"),
            query={**query, **({"cursor": cursor} if cursor else {})} or None,
        )

    return event


CONTENT_READS = [
    Read("list, page 1", "content-list-posts", _q("content-list-posts")),
    Read("list, page 1000 (by cursor)", "content-list-posts", _q("content-list-posts"), page=1000),
    Read("tag, page 1", "content-list-posts", _q("content-list-posts", tag="serverless")),
    Read(
        "tag, page 400", "content-list-posts", _q("content-list-posts", tag="serverless"), page=400
    ),
    Read(
        "author, page 1", "content-list-posts", _q("content-list-posts", author="scale-author-0001")
    ),
    Read("search, common word", "content-list-posts", _q("content-list-posts", q=COMMON_WORD)),
    Read("search, rare word", "content-list-posts", _q("content-list-posts", q=RARE_WORD)),
    Read(
        "search, a word only in the oldest 1%",
        "content-list-posts",
        _q("content-list-posts", q=OLD_WORD),
        every=10,
    ),
    Read(
        "get by slug",
        "content-get-post",
        lambda c, _: http_event(wiring.route_by_name("content-get-post"), target="scale-5"),
    ),
    Read("feed (50 followed authors)", "content-get-feed", _q("content-get-feed", "reader")),
    Read("tags list", "content-list-tags", _q("content-list-tags")),
]


def _comment(who: str) -> Callable[..., Event]:
    def event(c: dict[str, Any], _: str | None) -> Event:
        return http_event(
            wiring.route_by_name("comments-create-comment"),
            target=c["post"],
            caller=c[who],
            token=World.token(c[who]),
            body={"body": f"At scale, {uuid.uuid4().hex[:10]}"},
        )

    return event


def _on_post(route: str, caller: str | None = None) -> Callable[..., Event]:
    def event(c: dict[str, Any], cursor: str | None) -> Event:
        return _q(route, caller)({**c, "target": c["post"]}, cursor)

    return event


COMMENTS_READS = [
    Read("list, page 1", "comments-list-comments", _on_post("comments-list-comments")),
    Read(
        "list, page 100 (by cursor)",
        "comments-list-comments",
        _on_post("comments-list-comments"),
        page=100,
    ),
    Read(
        "list, page 469 (by cursor)",
        "comments-list-comments",
        _on_post("comments-list-comments"),
        page=469,
    ),
    Read("create, approved", "comments-create-comment", _comment("regular"), status=201),
    Read("create, held for moderation", "comments-create-comment", _comment("newbie"), status=201),
    Read(
        "moderation queue, moderator",
        "comments-moderation-queue",
        _q("comments-moderation-queue", "moderator"),
    ),
    Read(
        "moderation queue, post author",
        "comments-moderation-queue",
        _q("comments-moderation-queue", "author"),
    ),
    Read(
        "notifications (300 unread)",
        "comments-list-notifications",
        _q("comments-list-notifications", "author"),
    ),
]


def seed_content(w: World, opts: argparse.Namespace, say: Say) -> dict[str, Any]:
    authors = w.users("scale-author", 1000)
    w.sql(
        "content",
        "UPDATE authors SET username = 'scale-author-' || lpad(CAST(n AS text),"
        " 4, '0') FROM (SELECT user_id AS u, CAST(row_number() OVER (ORDER BY username)"
        " AS integer) AS n FROM authors WHERE username LIKE :p) AS t WHERE user_id = t.u",
        p=f"b{w.tag}-scale-author-%",
    )
    say(f"content: seeding {opts.scale_posts} posts")
    w.sql(
        "content",
        SEED_POSTS,
        words=WORDS,
        tags=TAGS,
        n=opts.scale_posts,
        authors=len(authors),
        old_from=opts.scale_posts - opts.scale_posts // 100,
    )
    w.sql(
        "content",
        "INSERT INTO published_tags (tag, published_at, post_id, author_id)"
        " SELECT tag, p.published_at, p.id, p.author_id FROM posts p, unnest(p.tags) AS tag"
        " WHERE p.status = 'published' AND p.slug LIKE 'scale-%'",
    )
    reader = w.actor("scale-reader")
    w.sql(
        "content",
        "INSERT INTO follows (follower_id, author_id, following, changed_at)"
        " SELECT CAST(:r AS uuid), a, true, now() FROM unnest(CAST(:a AS uuid[])) AS a",
        r=reader.id,
        a=[a.id for a in authors[::20]],
    )
    w.sql("content", "VACUUM ANALYZE")
    return {"reader": reader}


def seed_comments(w: World, opts: argparse.Namespace, say: Say) -> dict[str, Any]:
    w.users("scale-commenter", 500)
    w.sql(
        "comments",
        "UPDATE commenters SET username = 'scale-commenter-' || user_id WHERE username LIKE :p",
        p=f"b{w.tag}-scale-commenter-%",
    )
    author, regular = w.actor("scale-post-author"), w.actor("scale-regular")
    newbie, moderator = w.actor("scale-newbie"), w.actor("scale-moderator", "moderator")
    post = str(uuid.uuid4())
    w.sql(
        "comments",
        "INSERT INTO posts (post_id, author_id, title, slug, is_open, version)"
        " VALUES (CAST(:p AS uuid), CAST(:a AS uuid), 'At scale', :s, true, now())",
        p=post,
        a=author.id,
        s=f"scale-{post}",
    )
    say(f"comments: seeding {opts.scale_comments} comments on one post")
    w.sql("comments", SEED_COMMENTS, top=opts.scale_comments * 2 // 5, post=post, author=author.id)
    w.sql(
        "comments",
        "INSERT INTO comments (post_id, post_author_id, author_id, body, status,"
        " thread_at, thread_id, created_at) SELECT CAST(:p AS uuid), CAST(:a AS uuid),"
        " CAST(:r AS uuid), 'An approved one.', 'approved', now(), gen_random_uuid(), now()",
        p=post,
        a=author.id,
        r=regular.id,
    )  # the regular's comments are approved at once
    w.sql("comments", SEED_NOTIFICATIONS, post=post)
    w.sql("comments", "VACUUM ANALYZE")
    users = {"author": author, "regular": regular, "newbie": newbie, "moderator": moderator}
    return {"post": post, **users}


def _call(read: Read, event: Event) -> Any:
    route = wiring.route_by_name(read.route)
    result = load_handler(route)(event, context_for(route))
    if not isinstance(result, dict) or result.get("statusCode") != read.status:
        raise RuntimeError(f"{read.label}: {str(result)[:300]}")
    return json.loads(result["body"]) if result.get("body") else None


def _cursor(read: Read, c: dict[str, Any]) -> str | None:
    cursor = None
    for _ in range(read.page - 1):
        cursor = _call(read, read.event(c, cursor))["nextCursor"]
        if cursor is None:
            raise RuntimeError(f"{read.label}: fewer than {read.page} pages")
    return cursor


def measure(
    section: str,
    reads: list[Read],
    c: dict[str, Any],
    w: World,
    results: Results,
    calls: int,
    environment: ExecutionEnvironment,
) -> dict[str, Any]:
    cursors = {r.label: environment.run(partial(_cursor, r, c)) for r in reads}
    trips: dict[str, int] = {}
    with relayed(w, environment) as relays:
        for r in reads:
            environment.run(partial(_call, r, r.event(c, cursors[r.label])))  # prepare
            before = sum(x.round_trips for x in relays)
            environment.run(partial(_call, r, r.event(c, cursors[r.label])))
            trips[r.label] = sum(x.round_trips for x in relays) - before
    for r in reads:
        events = [r.event(c, cursors[r.label]) for _ in range(3 + max(3, calls // r.every))]

        def timed(r: Read = r, events: list[Event] = events) -> list[float]:
            seconds = []
            for i, event in enumerate(events):
                start = time.perf_counter()
                _call(r, event)
                if i >= 3:
                    seconds.append(time.perf_counter() - start)
            return seconds

        results.add(
            f"{section}/{r.label}", environment.run(timed), round_trips=trips[r.label], page=r.page
        )
    return trips


def _envelope(detail_type: str, data: dict[str, Any]) -> Event:
    event: Event = json.loads((BUS_SAMPLES / f"{detail_type}.json").read_text())
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    event["id"] = str(uuid.uuid4())
    event["detail"].update(
        eventId=str(uuid.uuid4()),
        occurredAt=now,
        correlationId=str(uuid.uuid4()),
        data={**event["detail"]["data"], **data},
    )
    return event


def consumers(
    w: World, c: dict[str, Any], results: Results, n: int, environment: ExecutionEnvironment
) -> list[str]:
    """comments-notify over comment.created of the post's comments (top-level, replies),
    then comments-posts deleting the post with all its comments (post.deleted)."""
    lines = []
    for replies in (False, True):
        rows = w.sql(
            "comments",
            "SELECT CAST(id AS text), CAST(author_id AS text),"
            " CAST(parent_id AS text), created_at FROM comments"
            " WHERE post_id = CAST(:p AS uuid) AND status = 'approved'"
            " AND (parent_id IS NOT NULL) = :replies ORDER BY created_at DESC"
            " LIMIT :n",
            p=c["post"],
            replies=replies,
            n=n,
        )
        w.sql(
            "comments",
            "DELETE FROM notifications WHERE comment_id = ANY(CAST(:ids AS uuid[]))",
            ids=[r[0] for r in rows],
        )  # each event is news
        events = [
            _envelope(
                "comment.created",
                {
                    "id": r[0],
                    "postId": c["post"],
                    "postAuthorId": c["author"].id,
                    "parentId": r[2],
                    "authorId": r[1],
                    "status": "approved",
                    "createdAt": r[3].strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                },
            )
            for r in rows
        ]
        label = "comments-notify, " + ("replies" if replies else "top-level comments")
        seconds = environment.run(partial(_consume, "comments-notify", events))
        results.add(f"comments-consumers/{label}", seconds)
        lines.append(f"| {label} | {len(seconds) / sum(seconds):.0f} events/s |")
    count = w.sql(
        "comments", "SELECT count(*) FROM comments WHERE post_id = CAST(:p AS uuid)", p=c["post"]
    )[0][0]
    deleted = _envelope("post.deleted", {"id": c["post"], "authorId": c["author"].id})
    seconds = environment.run(lambda: _consume("comments-posts", [deleted]))
    results.add("comments-consumers/post.deleted", seconds, comments=count)
    lines.append(
        f"| comments-posts, post.deleted with {count} comments | {seconds[0] * 1000:.0f} ms |"
    )
    return lines


def _consume(name: str, events: list[Event]) -> list[float]:
    consumer = next(f for f in wiring.CONSUMERS if f.name == name)
    handler, seconds = load_handler(consumer), []
    for event in events:
        start = time.perf_counter()
        result = handler(event, context_for(consumer))
        seconds.append(time.perf_counter() - start)
        if result.get("status") != "processed":
            raise RuntimeError(f"{name}: {result}")
    return seconds


def run(
    section: str, w: World, results: Results, opts: argparse.Namespace, out: Out, say: Say
) -> list[str]:
    environment = ExecutionEnvironment(f"bench-{section}")
    try:
        start = time.perf_counter()
        c = (seed_content if section == "content" else seed_comments)(w, opts, say)
        seeded = time.perf_counter() - start
        reads = CONTENT_READS if section == "content" else COMMENTS_READS
        say(f"{section}: timing {len(reads)} requests")
        trips = measure(f"scale-{section}", reads, c, w, results, opts.scale_calls, environment)
        out(
            "",
            f"### {section.capitalize()} at scale (seeded in {seeded:.0f} s; "
            f"{opts.scale_calls} calls each)",
            "",
            "| request | p50 ms | p99 ms | round trips |",
            "|---|---|---|---|",
        )
        for r in reads:
            name = f"scale-{section}/{r.label}"
            out(
                f"| {r.label} | {results.ms(name):.2f} | {results.ms(name, 99):.2f} | "
                f"{trips[r.label]} |"
            )
        if section == "comments":
            out(
                "",
                "| consumer | throughput |",
                "|---|---|",
                *consumers(w, c, results, opts.consumer_events, environment),
            )
    except Exception as exc:
        return [f"{section}: {type(exc).__name__}: {exc}"]
    finally:
        environment.close()
    return []
