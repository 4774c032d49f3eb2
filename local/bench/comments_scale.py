"""The comments data-scale section of `make bench` ("a post with 10,000 comments").

A database of its own (``inkwell_bench_scale_comments``, comments migrations applied,
dropped afterwards), so that the per-function scenarios and this section never see each
other's rows. It is seeded with a few INSERT ... SELECT generate_series statements, written
as the comments domain writes its rows:

- the read models the consumers keep: 10,000 commenters (`commenters`: comments-users writes
  a row for every registered user; every 50th deactivated, so their comments are hidden), 500
  of whom write the comments, and the posts open for comments (`posts`, as comments-posts
  writes them from post.published): the post under test and 500 other posts by 100 authors
  (every 20th unpublished since: closed);
- the post under test: 10,000 comments over 30 days, 4,000 top-level and 6,000 replies (0 to
  3 per thread, a reply takes its parent's thread key), by the writers, the reader (~1%) and
  the post's author (~8% of the replies); bodies of 40 to 600 characters; ~3% pending
  (queued; a thread's head with replies was approved), ~1.5% rejected, 0.5% spam, a few
  threads whose head was deleted (kept as a placeholder for its replies), 3% edited, 2%
  reported once (`comment_reports`), every rejection and some approvals recorded
  (`moderation_decisions`);
- the other posts: 20 top-level comments each (10,000), 5% pending, the same other statuses;
- notifications, as comments-notify writes them: the post author's for every approved
  comment of others on their posts (the author of the post under test: ~9,000, the newest 300
  unread), and the parent comment's author's for every approved reply of someone else;
- then VACUUM ANALYZE.

Then, through the real handlers with real API Gateway events, interleaved call by call in
a shuffled order each round (20 untimed rounds, then 200 timed ones), every response checked:
page 1, page 100 and the last page but one of the post's comments (a signed-in reader),
creating a comment (the approved path: a commenter with approved comments; the held path: a
first-time commenter), the moderation queue (a moderator: all of it; the post's author and
the author of a few other posts: theirs), and the notifications of the post's author. Page
100 is reached by following nextCursor through the handler (untimed); the bench also builds
that cursor from the thread key of visible row 1,980 (found with SQL under the service's
visibility rules) and checks that both agree; the last page but one uses the built cursor.

Each read's statement is recorded during one call and run again under ``EXPLAIN (ANALYZE,
BUFFERS)`` with the same parameters (the custom plan), and once more as a prepared statement
with ``plan_cache_mode = force_generic_plan`` (the generic plan PostgreSQL may switch to
after five executions of the function's named prepared statement): rows read against rows
returned, for both. After the run, `pg_prepared_statements` on the functions' own connection
says how many generic and custom plans each statement actually ran.

Last, the consumers, invoked in process through their real handlers: comments-notify on
comment.created events of approved comments that exist (top-level ones notify the post's
author; replies also the parent's author), comments-posts on post.published of new posts,
and on post.deleted of the post under test (its 10,000 comments and their notifications
deleted; the statement's plan with its triggers is taken first, in a transaction rolled
back).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pg8000.native

import wiring
from inkwell.db import database
from inkwell.pagination import encode_cursor
from local.bench.content_scale import WORDS
from local.bench.scale_common import DEEP_BUDGET as DEEP_BUDGET  # page 100's, times page 1's
from local.bench.scale_common import (
    PAGE,
    PlanFacts,
    Say,
    ScaleResults,
    deep_page,
    explain_sql,
    functions_on,
    interleave,
    items_check,
    one_statement,
    plan_facts,
    record_call,
    scale_database,
    timed,
    vacuum_analyze,
)
from local.bench.scenarios import Event, SeedUser, http_event
from local.bench.sql import Step, recording
from local.bench.timing import Samples, time_calls
from local.dispatch import context_for, load_handler

SECTION = "comments-scale"
DATABASE = "inkwell_bench_scale_comments"
DOMAIN = "comments"
DEEP_PAGE = 100
READ_ROUND_TRIPS = 1  # a read is one statement: one round trip
DAYS = 30  # the comments span the last 30 days
UNREAD = 300  # the post author's newest notifications are unread
BUS_SAMPLES = Path(__file__).resolve().parents[2] / "events" / "bus"


@dataclass(frozen=True)
class Sizes:
    comments: int = 10_000  # on the post under test
    # The commenters read model holds every registered user (comments-users writes a row
    # from user.registered); `writers` of them write the comments.
    commenters: int = 10_000
    writers: int = 500
    other_posts: int = 500
    other_authors: int = 100
    per_other_post: int = 20
    notify_events: int = 300  # per kind of comment.created
    publish_events: int = 300  # post.published

    @property
    def top_level(self) -> int:
        return max(4, self.comments * 2 // 5)  # 0-3 replies each (1.5 on average)


@dataclass(frozen=True)
class Actors:
    post: str  # the post under test
    author: SeedUser  # its author
    reader: SeedUser  # comments on it (approved: trusted), reads it
    moderator: SeedUser
    newbie: SeedUser  # no approved comment yet: held


def new_actors() -> Actors:
    def user(name: str, role: str = "user") -> SeedUser:
        return SeedUser(str(uuid.uuid4()), name, role)

    return Actors(str(uuid.uuid4()), user("scale-post-author"), user("scale-reader"),
                  user("scale-moderator", "moderator"), user("scale-newbie"))


# --- seeding ---------------------------------------------------------------------------------

_COMMENTERS = (
    "SELECT array_agg(user_id ORDER BY username) AS ids FROM (SELECT user_id, username"
    " FROM commenters WHERE username LIKE 'commenter%' ORDER BY username"
    " LIMIT CAST(:writers AS integer)) w"
)
# Bodies: prefixes of 97 paragraphs of 100 common words (40 to 600 characters are used).
_PARAS = (
    " v AS (SELECT CAST(:words AS text[]) AS w, cardinality(CAST(:words AS text[])) AS nw),"
    " paras AS (SELECT j, initcap(string_agg(v.w[1 + (j * 131 + k * 29 + k * k * 7) % v.nw],"
    "  ' ' ORDER BY k)) AS p FROM v, generate_series(0, 96) AS j,"
    "  generate_series(1, 100) AS k GROUP BY j)"
)
# Statuses by a hash h in 0..999 of the comment: 5% pending, 1.5% rejected, 0.5% spam.
_STATUS = (
    "CASE WHEN h < 50 THEN 'pending' WHEN h < 65 THEN 'rejected' WHEN h < 70 THEN 'spam'"
    " ELSE 'approved' END"
)
_COMMENT_COLUMNS = (
    "id, post_id, post_author_id, parent_id, author_id, body, status, report_count,"
    " created_at, edited_at, queued_at, deleted_at, thread_at, thread_id"
)
# From a row with id, parent_id, author_id, status, h, created_at, deleted, thread_at,
# thread_id and p (a paragraph): the comment as the repository would have left it.
_COMMENT_VALUES = (
    " s.id, CAST(:post AS uuid), CAST(:post_author AS uuid), s.parent_id, s.author_id,"
    " CASE WHEN s.deleted THEN NULL ELSE left(s.p, 40 + (s.h * 53) % 561) END, s.status,"
    " CASE WHEN s.status = 'approved' AND NOT s.deleted AND s.h BETWEEN 70 AND 89 THEN 1"
    "  ELSE 0 END,"
    " s.created_at,"
    " CASE WHEN NOT s.deleted AND s.h BETWEEN 900 AND 929"
    "  THEN s.created_at + interval '5 minutes' END,"
    " CASE WHEN s.status = 'pending' THEN s.created_at END,"
    " CASE WHEN s.deleted THEN s.created_at + interval '1 day' END,"
    " s.thread_at, s.thread_id"
)


def seed_statements(sizes: Sizes, actors: Actors) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, SQL, parameters) of the seeding statements, in order."""
    start = {"start": dt.datetime.now(dt.UTC) - dt.timedelta(days=DAYS)}
    commenters = (
        "INSERT INTO commenters (user_id, username, first_name, last_name, is_active, version)"
        " SELECT gen_random_uuid(), 'commenter' || lpad(CAST(i AS text), 5, '0'), 'Commenter',"
        "  'Number ' || i, i % 50 <> 0, now()"
        " FROM generate_series(1, CAST(:n AS integer)) AS i"
        " UNION ALL SELECT u, n, 'Bench', 'User', true, now()"
        " FROM unnest(CAST(:ids AS uuid[]), CAST(:names AS text[])) AS t(u, n)"
    )
    posts = (
        "WITH cm AS (SELECT user_id, CAST(row_number() OVER (ORDER BY username) AS integer) - 1"
        "  AS n FROM commenters WHERE username LIKE 'commenter%')"
        " INSERT INTO posts (post_id, author_id, title, slug, is_open, version)"
        " SELECT CAST(:post AS uuid), CAST(:post_author AS uuid),"
        "  'Ten thousand comments on cold starts', 'ten-thousand-comments', true, now()"
        " UNION ALL"
        " SELECT gen_random_uuid(), cm.user_id, 'Another post, number ' || i, 'another-post-' || i,"
        "  i % 20 <> 0, now()"  # every 20th unpublished since: closed for comments
        " FROM generate_series(1, CAST(:posts AS integer)) AS i"
        "  JOIN cm ON cm.n = i % CAST(:authors AS integer)"
    )
    # The post under test: threads, each a top-level comment and 0-3 replies 7 minutes apart.
    big = (
        "WITH cm AS (" + _COMMENTERS + ")," + _PARAS + ","
        " top AS MATERIALIZED (SELECT gen_random_uuid() AS id, i,"
        "  CAST(:start AS timestamptz) + make_interval(secs => i * CAST(:step AS float8)) AS at,"
        "  i % 4 AS replies FROM generate_series(1, CAST(:top AS integer)) AS i),"
        " r AS (SELECT top.id, CAST(NULL AS uuid) AS parent_id, top.i, 0 AS k, top.replies,"
        "  top.at AS created_at, top.at AS thread_at, top.id AS thread_id FROM top"
        "  UNION ALL SELECT gen_random_uuid(), top.id, top.i, k, top.replies,"
        "  top.at + make_interval(mins => k * 7), top.at, top.id"
        "  FROM top, generate_series(1, top.replies) AS k),"
        " a AS (SELECT r.*, (r.i * 7919 + r.k * 104729) % 1000 AS h,"
        "  CASE WHEN r.k > 0 AND (r.i + r.k) % 13 = 0 THEN CAST(:post_author AS uuid)"
        "   WHEN (r.i * 3 + r.k) % 97 = 0 THEN CAST(:reader AS uuid)"
        "   ELSE cm.ids[1 + (r.i * 31 + r.k * 17) % cardinality(cm.ids)] END AS author_id"
        "  FROM r, cm),"
        " s AS (SELECT a.*, paras.p,"
        # the head of a thread with replies was approved; the post's author is never held
        "  CASE WHEN a.author_id = CAST(:post_author AS uuid) OR (a.k = 0 AND a.replies > 0)"
        "   THEN 'approved' ELSE " + _STATUS + " END AS status,"
        "  a.k = 0 AND a.replies > 0 AND a.h >= 985 AS deleted"  # a placeholder
        "  FROM a JOIN paras ON paras.j = (a.i + a.k * 7) % 97)"
        " INSERT INTO comments (" + _COMMENT_COLUMNS + ")"
        " SELECT" + _COMMENT_VALUES + " FROM s ORDER BY s.created_at"  # oldest first
    )
    # The other posts: 20 top-level comments each, interleaved in time with the above.
    others = (
        "WITH cm AS (" + _COMMENTERS + ")," + _PARAS + ","
        " op AS (SELECT post_id, author_id, CAST(row_number() OVER (ORDER BY slug) AS integer)"
        "  AS n FROM posts WHERE post_id <> CAST(:post AS uuid)),"
        " a AS (SELECT gen_random_uuid() AS id, op.post_id, op.author_id AS post_author_id,"
        "  op.n, i, (op.n * 7919 + i * 104729) % 1000 AS h,"
        "  CAST(:start AS timestamptz) + make_interval(secs =>"
        "   ((i - 1) * CAST(:posts AS integer) + op.n) * CAST(:step AS float8)) AS created_at,"
        "  cm.ids[1 + (op.n * 13 + i * 7) % cardinality(cm.ids)] AS author_id"
        "  FROM op, cm, generate_series(1, CAST(:per_post AS integer)) AS i),"
        " s AS (SELECT a.*, " + _STATUS + " AS status, false AS deleted, a.created_at AS thread_at,"
        "  a.id AS thread_id, CAST(NULL AS uuid) AS parent_id, paras.p"
        "  FROM a JOIN paras ON paras.j = (a.n + a.i * 7) % 97)"
        " INSERT INTO comments (" + _COMMENT_COLUMNS + ")"
        " SELECT" + _COMMENT_VALUES.replace("CAST(:post AS uuid), CAST(:post_author AS uuid)",
                                            "s.post_id, s.post_author_id")
        + " FROM s ORDER BY s.created_at"
    )
    reports = (
        "WITH cm AS (" + _COMMENTERS + ")"
        " INSERT INTO comment_reports (comment_id, reporter_id, reason, created_at)"
        " SELECT c.id, CASE WHEN r.id = c.author_id THEN CAST(:spare AS uuid) ELSE r.id END,"
        "  'Off topic.', c.created_at + interval '2 hours'"
        " FROM comments c, cm, LATERAL (SELECT cm.ids[1 + abs(hashtext(CAST(c.id AS text)))"
        "  % cardinality(cm.ids)] AS id) r WHERE c.report_count = 1"
    )
    decisions = (
        "INSERT INTO moderation_decisions (comment_id, moderator_id, action, reason, decided_at)"
        " SELECT id, CAST(:moderator AS uuid),"
        "  CASE status WHEN 'approved' THEN 'approve' WHEN 'rejected' THEN 'reject'"
        "   ELSE 'spam' END, CASE WHEN status = 'approved' THEN NULL ELSE 'Not for here.' END,"
        "  created_at + interval '1 hour'"
        " FROM comments WHERE status IN ('rejected', 'spam')"
        "  OR (status = 'approved' AND deleted_at IS NULL AND report_count = 0"
        "      AND abs(hashtext(CAST(id AS text))) % 20 = 0)"
    )
    # What comments-notify writes for a visible comment: the post's author is told of
    # every comment of others ("comment"), the parent's author of every reply of someone
    # else ("reply"). The newest 300 of the post author's are unread, 10% of the others'.
    notifications = (
        "WITH visible AS (SELECT c.*, cm.username, p.title, par.author_id AS parent_author"
        "  FROM comments c JOIN commenters cm ON cm.user_id = c.author_id"
        "  JOIN posts p ON p.post_id = c.post_id"
        "  LEFT JOIN comments par ON par.id = c.parent_id"
        "  WHERE c.status = 'approved' AND c.deleted_at IS NULL),"
        " n AS (SELECT post_author_id AS recipient, 'comment' AS kind, v.* FROM visible v"
        "  WHERE author_id <> post_author_id"
        "  UNION ALL SELECT parent_author, 'reply', v.* FROM visible v"
        "  WHERE parent_author IS NOT NULL AND parent_author <> author_id"
        "  AND parent_author <> post_author_id),"
        " ranked AS (SELECT n.*, row_number() OVER (PARTITION BY recipient"
        "  ORDER BY created_at DESC) AS newest FROM n)"
        " INSERT INTO notifications (recipient_id, kind, event_id, post_id, comment_id,"
        "  actor_id, subject, text, created_at, read_at)"
        " SELECT recipient, kind, gen_random_uuid(), post_id, id, author_id,"
        "  left(username || CASE kind WHEN 'reply' THEN ' replied to your comment on \"'"
        "   ELSE ' commented on \"' END || title || '\"', 200),"
        "  username || ' wrote:' || chr(10) || chr(10) || left(body, 280),"
        "  created_at + interval '1 second',"
        "  CASE WHEN recipient = CAST(:post_author AS uuid) AND newest <= " + str(UNREAD)
        + "   THEN NULL WHEN recipient <> CAST(:post_author AS uuid)"
        "    AND abs(hashtext(CAST(id AS text))) % 10 = 0 THEN NULL"
        "   ELSE created_at + interval '1 hour' END"
        " FROM ranked ORDER BY created_at"
    )
    span_s = DAYS * 86400.0
    actors_rows = [actors.author, actors.reader, actors.moderator, actors.newbie]
    return [
        ("commenters", commenters, {"n": sizes.commenters, "ids": [u.id for u in actors_rows],
                                    "names": [u.username for u in actors_rows]}),
        ("posts", posts, {"post": actors.post, "post_author": actors.author.id,
                          "posts": sizes.other_posts, "authors": sizes.other_authors}),
        ("comments of the post", big, {**start, "words": WORDS, "top": sizes.top_level,
                                       "step": span_s / sizes.top_level, "post": actors.post,
                                       "post_author": actors.author.id,
                                       "reader": actors.reader.id, "writers": sizes.writers}),
        ("comments of other posts", others, {
            **start, "words": WORDS, "post": actors.post, "posts": sizes.other_posts,
            "writers": sizes.writers,
            "per_post": sizes.per_other_post,
            "step": span_s / max(1, sizes.other_posts * sizes.per_other_post)}),
        ("comment_reports", reports, {"spare": actors.newbie.id, "writers": sizes.writers}),
        ("moderation_decisions", decisions, {"moderator": actors.moderator.id}),
        ("notifications", notifications, {"post_author": actors.author.id}),
    ]


# --- results ---------------------------------------------------------------------------------

@dataclass
class Call:
    """One kind of request of the section: a read or a write, through its handler."""

    key: str
    label: str
    route: wiring.Route
    events: Callable[[int], list[Event]]
    check: Callable[[Any], bool]
    read: bool = True  # a read: one round trip, and its statement is EXPLAINed
    baseline: str | None = None  # the key of the page-1 read a deep page is held to
    samples: Samples = field(default_factory=Samples)
    plan: PlanFacts | None = None  # the custom plan, with the recorded parameters
    generic: PlanFacts | None = None  # the generic plan, same parameters
    returned: int | None = None  # rows the statement returned (custom plan)
    # The function's own prepared statement, from pg_prepared_statements on its connection
    # after the run: (generic plans, custom plans) it executed (shared by the reads that
    # send the same statement).
    plans_used: tuple[int, int] | None = None
    statements: int = 0
    sql: str = ""  # the statements, shortened
    sql_text: str = ""  # a read's one statement, in full
    errors: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return self.samples.n


@dataclass
class ConsumerRun:
    key: str
    label: str
    consumer: str
    events: int = 0
    seconds: float = 0.0
    samples: Samples = field(default_factory=Samples)
    written: dict[str, int] = field(default_factory=dict)  # what the run wrote or deleted
    plan: list[str] = field(default_factory=list)  # EXPLAIN ANALYZE, for post.deleted
    triggers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


@dataclass
class CommentsSection(ScaleResults[Call]):
    sizes: Sizes = field(default_factory=Sizes)
    calls: list[Call] = field(default_factory=list)
    consumers: list[ConsumerRun] = field(default_factory=list)
    # The comments routes' warm ratios to their bare twins, from the second table (`cold`:
    # their cold ratios to the hello-world, from the first): (name, ratio, verdict).
    warm: list[tuple[str, float | None, bool | None]] = field(default_factory=list)

    def timed(self) -> list[Call]:
        return self.calls

    def call(self, key: str) -> Call | None:
        return next((c for c in self.calls if c.key == key), None)

    @staticmethod
    def round_trips_pass(c: Call) -> bool | None:
        if not c.n:
            return None
        if c.read:
            return set(c.samples.round_trips) == {READ_ROUND_TRIPS}
        return c.samples.round_trips_fixed


# --- the database ----------------------------------------------------------------------------

def _count(conn: pg8000.native.Connection, sql: str, **params: Any) -> int:
    return int(conn.run(sql, **params)[0][0])


def seed(conn: pg8000.native.Connection, sizes: Sizes, actors: Actors,
         section: CommentsSection, say: Say) -> None:
    for label, sql, params in seed_statements(sizes, actors):
        say(f"{SECTION}: seeding {label}")
        with timed(section.seed_s, label):
            conn.run(sql, **params)
    vacuum_analyze(conn, section.seed_s, SECTION, say)
    c, post = section.counts, actors.post
    for table in ("commenters", "posts", "comments", "comment_reports", "moderation_decisions",
                  "notifications"):
        c[table] = _count(conn, f"SELECT count(*) FROM {table}")
    for key, where in (("post_comments", ""), ("post_replies", " AND parent_id IS NOT NULL"),
                       ("post_pending", " AND status = 'pending'"),
                       ("post_placeholders", " AND deleted_at IS NOT NULL")):
        c[key] = _count(conn, "SELECT count(*) FROM comments WHERE post_id = CAST(:p AS uuid)"
                        + where, p=post)
    c["pending"] = _count(conn, "SELECT count(*) FROM comments WHERE status = 'pending'")
    c["author_notifications"] = _count(
        conn, "SELECT count(*) FROM notifications WHERE recipient_id = CAST(:a AS uuid)",
        a=actors.author.id)
    c["author_unread"] = _count(
        conn, "SELECT count(*) FROM notifications WHERE recipient_id = CAST(:a AS uuid)"
        " AND read_at IS NULL", a=actors.author.id)
    c["bytes"] = _count(
        conn, "SELECT sum(pg_total_relation_size(oid)) FROM pg_class WHERE relkind = 'r'"
        " AND relname IN ('comments', 'notifications', 'comment_reports',"
        " 'moderation_decisions', 'posts', 'commenters')")
    # The seed is what the repository would have written: check the derived rows.
    problems = {
        "replies whose thread key is not their parent's": (
            "SELECT count(*) FROM comments r JOIN comments p ON p.id = r.parent_id"
            " WHERE (r.thread_at, r.thread_id) IS DISTINCT FROM (p.thread_at, p.thread_id)"
            " OR p.parent_id IS NOT NULL OR r.post_id <> p.post_id"),
        "top-level comments whose thread key is not their own": (
            "SELECT count(*) FROM comments WHERE parent_id IS NULL"
            " AND (thread_at, thread_id) IS DISTINCT FROM (created_at, id)"),
        "comments whose post_author_id is not their post's author": (
            "SELECT count(*) FROM comments c JOIN posts p ON p.post_id = c.post_id"
            " WHERE c.post_author_id <> p.author_id"),
        "comments whose report_count is not their reports": (
            "SELECT count(*) FROM comments c WHERE c.report_count <>"
            " (SELECT count(*) FROM comment_reports r WHERE r.comment_id = c.id)"),
        "placeholders without replies": (
            "SELECT count(*) FROM comments c WHERE c.deleted_at IS NOT NULL AND NOT EXISTS"
            " (SELECT 1 FROM comments r WHERE r.parent_id = c.id)"),
    }
    for what, sql in problems.items():
        wrong = _count(conn, sql)
        if wrong:
            section.errors.append(f"seed: {wrong} {what}")


# --- deep pages ------------------------------------------------------------------------------

def visible_keys(conn: pg8000.native.Connection, post_id: str, viewer: str, offset: int,
                 limit: int = 2) -> list[tuple[Any, str, bool, Any, str]]:
    """The thread keys (thread_at, thread_id, is a reply, created_at, id) of the comments
    `viewer` sees at `offset` and after, in the service's order (comments.repository:
    placeholders, approved comments of active users and the viewer's own)."""
    rows = conn.run(
        "SELECT c.thread_at, CAST(c.thread_id AS text), c.parent_id IS NOT NULL, c.created_at,"
        " CAST(c.id AS text) FROM comments c JOIN commenters cm ON cm.user_id = c.author_id"
        " WHERE c.post_id = CAST(:post AS uuid) AND (c.deleted_at IS NOT NULL"
        "  OR (c.status = 'approved' AND cm.is_active) OR c.author_id = CAST(:viewer AS uuid))"
        " ORDER BY c.thread_at, c.thread_id, c.parent_id IS NOT NULL, c.created_at, c.id"
        " OFFSET :offset LIMIT :limit",
        post=post_id, viewer=viewer, offset=offset, limit=limit)
    return [(r[0], str(r[1]), bool(r[2]), r[3], str(r[4])) for r in rows]


def visible_count(conn: pg8000.native.Connection, post_id: str, viewer: str) -> int:
    return _count(
        conn, "SELECT count(*) FROM comments c JOIN commenters cm ON cm.user_id = c.author_id"
        " WHERE c.post_id = CAST(:post AS uuid) AND (c.deleted_at IS NOT NULL"
        "  OR (c.status = 'approved' AND cm.is_active) OR c.author_id = CAST(:viewer AS uuid))",
        post=post_id, viewer=viewer)


def cursor_after(key: tuple[Any, str, bool, Any, str]) -> str:
    """The nextCursor the service hands out after a comment with thread key `key`
    (comments.service.list_comments: thread_at, thread_id, is a reply, created_at, id)."""
    return encode_cursor(key[0].isoformat(), key[1], key[2], key[3].isoformat(), key[4])


def walk(route: wiring.Route, page: Callable[[str | None], Event], pages: int,
         ) -> tuple[str | None, str | None]:
    """Follow nextCursor from page 1 (`page(None)`) through the handler to page `pages`:
    (the cursor that asks for it, a problem)."""
    handler = load_handler(route)
    cursor: str | None = None
    for n in range(1, pages):
        result = handler(page(cursor), context_for(route))
        if not isinstance(result, dict) or result.get("statusCode") != 200:
            return None, f"page {n} failed: {str(result)[:200]}"
        cursor = json.loads(result["body"]).get("nextCursor")
        if not cursor:
            return None, f"page {n} has no nextCursor"
    return cursor, None


# --- EXPLAIN ---------------------------------------------------------------------------------

def _literal(value: Any) -> str:
    """`value` as an SQL literal (for EXECUTE of a prepared statement)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        value = value.isoformat()
    return "'" + str(value).replace("'", "''") + "'"


def explain(conn: pg8000.native.Connection, step: Step) -> tuple[PlanFacts, int]:
    """The custom plan of a recorded statement, with its parameters: facts, rows returned."""
    facts, document = explain_sql(conn, step.sql, step.params)
    return facts, int(document["Plan"].get("Actual Rows", 0))


def explain_generic(conn: pg8000.native.Connection, step: Step) -> PlanFacts:
    """The generic plan of a recorded statement (what a named prepared statement runs once
    PostgreSQL stops planning it for each execution), executed with its parameters."""
    statement, make_values = pg8000.native.to_statement(step.sql)
    values = ", ".join(_literal(v) for v in make_values(step.params))
    conn.run("PREPARE bench_generic AS " + statement)
    try:
        conn.run("SET plan_cache_mode = force_generic_plan")
        execute = f"EXECUTE bench_generic ({values})" if values else "EXECUTE bench_generic"
        return explain_sql(conn, execute, {})[0]
    finally:
        conn.run("RESET plan_cache_mode")
        conn.run("DEALLOCATE bench_generic")


# --- the requests ----------------------------------------------------------------------------

def _created(status: str) -> Callable[[Any], bool]:
    def check(result: Any) -> bool:
        return (isinstance(result, dict) and result.get("statusCode") == 201
                and json.loads(result["body"])["status"] == status)

    return check


def _queue_check(count: int) -> Callable[[Any], bool]:
    plain = items_check(min(PAGE, count), count > PAGE)

    def check(result: Any) -> bool:
        return plain(result) and all(
            i["status"] == "pending" for i in json.loads(result["body"])["items"])

    return check


def _notifications_check(unread: int) -> Callable[[Any], bool]:
    plain = items_check(PAGE, True)

    def check(result: Any) -> bool:
        return plain(result) and json.loads(result["body"])["unreadCount"] == unread

    return check


def queue_count(conn: pg8000.native.Connection, author: str | None) -> int:
    """Pending comments on open posts by active users (of `author`'s posts)."""
    return _count(
        conn, "SELECT count(*) FROM comments c JOIN commenters cm ON cm.user_id = c.author_id"
        " JOIN posts p ON p.post_id = c.post_id WHERE c.status = 'pending'"
        " AND c.deleted_at IS NULL AND p.is_open AND cm.is_active"
        " AND (CAST(:a AS uuid) IS NULL OR c.post_author_id = CAST(:a AS uuid))", a=author)


def build_calls(conn: pg8000.native.Connection, actors: Actors, section: CommentsSection,
                say: Say) -> list[Call]:
    listing = wiring.route_by_name("comments-list-comments")
    create = wiring.route_by_name("comments-create-comment")
    queue = wiring.route_by_name("comments-moderation-queue")
    notifications = wiring.route_by_name("comments-list-notifications")
    path = listing.path.replace("{id}", actors.post)

    def on_post(route: wiring.Route, caller: SeedUser, body: Any = None,
                query: dict[str, str] | None = None) -> Event:
        return http_event(route, path, caller=caller, body=body, query=query,
                          path_parameters={"id": actors.post})

    def list_page(cursor: str | None) -> Event:
        return on_post(listing, actors.reader, query={"cursor": cursor} if cursor else None)

    def same(make: Callable[[], Event]) -> Callable[[int], list[Event]]:
        """The same request, `n` times (each its own request id)."""
        return lambda n: [make() for _ in range(n)]

    serial = [0]

    def comments_by(caller: SeedUser, words: str) -> Callable[[int], list[Event]]:
        def events(n: int) -> list[Event]:
            found = []
            for _ in range(n):
                serial[0] += 1
                found.append(on_post(create, caller, body={
                    "body": f"{words} Comment {serial[0]} of the bench, on cold starts."}))
            return found

        return events

    visible = visible_count(conn, actors.post, actors.reader.id)
    deep = deep_page(visible, DEEP_PAGE)
    before, first = visible_keys(conn, actors.post, actors.reader.id, (deep - 1) * PAGE - 1)
    built = cursor_after(before)
    say(f"comments-scale: following nextCursor to page {deep} through the handler")
    walked, problem = walk(listing, list_page, deep)
    if problem:
        section.errors.append(f"cursor walk: {problem}")
    elif walked != built:
        section.errors.append(f"cursor: page {deep - 1}'s nextCursor is {walked!r}, the"
                              f" builder gives {built!r}")
    (row20, _) = visible_keys(conn, actors.post, actors.reader.id, PAGE - 1)
    handed = load_handler(listing)(list_page(None), context_for(listing))
    if json.loads(handed["body"]).get("nextCursor") != cursor_after(row20):
        section.errors.append("cursor: the builder does not give page 1's nextCursor")
    section.notes.append(
        f"page {deep}: reached by following nextCursor through the handler ({deep - 1} untimed"
        f" calls); the cursor agrees with the one built from the thread key of visible row"
        f" {(deep - 1) * PAGE:,} (SQL, the service's visibility rules), and the page starts"
        " with the next row")
    deep_cursor = walked or built
    # The last page but one (the creates below append comments after the last).
    late = deep_page(visible, visible)
    late_before, late_first = visible_keys(conn, actors.post, actors.reader.id,
                                           (late - 1) * PAGE - 1)

    by_moderator = queue_count(conn, None)
    by_author = queue_count(conn, actors.author.id)
    # An author of a few other posts, with a few pending comments (the median of them).
    (other_id, other_name, by_other) = conn.run(
        "SELECT CAST(c.post_author_id AS text), cm.username, count(*) FROM comments c"
        " JOIN commenters cm ON cm.user_id = c.post_author_id"
        " JOIN posts p ON p.post_id = c.post_id"
        " JOIN commenters w ON w.user_id = c.author_id"
        " WHERE c.status = 'pending' AND c.deleted_at IS NULL AND p.is_open AND w.is_active"
        " AND c.post_author_id <> CAST(:a AS uuid) GROUP BY 1, 2 ORDER BY 3, 1"
        " OFFSET (SELECT count(DISTINCT post_author_id) / 2 FROM comments"
        "  WHERE status = 'pending') LIMIT 1", a=actors.author.id)[0]
    other = SeedUser(str(other_id), str(other_name), "user")
    by_other = queue_count(conn, other.id)
    unread = section.counts.get("author_unread", 0)
    total = section.counts.get("author_notifications", 0)
    return [
        Call("list-1", f"list, page 1 ({visible:,} visible to the reader)", listing,
             same(lambda: list_page(None)), items_check(PAGE, visible > PAGE)),
        Call("list-deep", f"list, page {deep} (cursor)", listing,
             same(lambda: list_page(deep_cursor)),
             items_check(PAGE, visible > deep * PAGE, first[4]), baseline="list-1"),
        Call("list-late", f"list, page {late} (cursor; the last but one)", listing,
             same(lambda: list_page(cursor_after(late_before))),
             items_check(PAGE, True, late_first[4]), baseline="list-1"),
        Call("create-approved", "create, approved (trusted commenter)", create,
             comments_by(actors.reader, "Agreed."), _created("approved"), read=False),
        Call("create-held", "create, held (first-time commenter)", create,
             comments_by(actors.newbie, "First time here."), _created("pending"), read=False),
        Call("queue-moderator", f"moderation queue, moderator ({by_moderator:,} pending)", queue,
             same(lambda: http_event(queue, queue.path, caller=actors.moderator)),
             _queue_check(by_moderator)),
        Call("queue-author", f"moderation queue, post author ({by_author:,} pending)", queue,
             same(lambda: http_event(queue, queue.path, caller=actors.author)),
             _queue_check(by_author)),
        Call("queue-other", f"moderation queue, author of other posts ({by_other} pending)",
             queue, same(lambda: http_event(queue, queue.path, caller=other)),
             _queue_check(by_other)),
        Call("notifications", f"notifications, post author ({total:,}, {unread} unread)",
             notifications,
             same(lambda: http_event(notifications, notifications.path,
                                     caller=actors.author)),
             _notifications_check(unread)),
    ]


def measure(calls: list[Call], conn: pg8000.native.Connection, *, n: int, warmup: int,
            say: Say) -> None:
    db = database(DOMAIN)

    def round_trips() -> int:
        return db.round_trips

    events = {c.key: c.events(warmup + n + 1) for c in calls}
    # One recorded call each (untimed): the statement for EXPLAIN, the check of the response.
    for c in calls:
        steps = record_call(c, events[c.key][0], round_trips)
        c.sql = " ; ".join(s.describe() for s in steps if not s.control)
        step = one_statement(steps)
        if not c.read or step is None:
            continue
        c.sql_text = step.sql
        try:
            c.plan, c.returned = explain(conn, step)
            c.generic = explain_generic(conn, step)
        except Exception as exc:  # evidence only: the timings stand without it
            c.errors.append(f"EXPLAIN failed: {type(exc).__name__}: {exc}")

    say(f"{SECTION}: {len(calls)} requests interleaved ({warmup} warm-up + {n} timed"
        " rounds)")
    interleave(calls, warmup=warmup, calls=n, seed=20240604,
               event=lambda c, round_: events[c.key][1 + round_], round_trips=round_trips)
    plans_used(calls)


def plans_used(calls: list[Call]) -> None:
    """How often the function's own prepared statement of each read ran a generic plan and
    a custom one (pg_prepared_statements, on the functions' connection in this process)."""
    with database(DOMAIN).reader() as s:
        rows = s.rows("SELECT statement, generic_plans, custom_plans"
                      " FROM pg_prepared_statements")
    used = {str(r["statement"]): (int(r["generic_plans"]), int(r["custom_plans"]))
            for r in rows}
    for c in calls:
        if c.read and c.sql_text:
            c.plans_used = used.get(pg8000.native.to_statement(c.sql_text)[0])


# --- consumers -------------------------------------------------------------------------------

def _envelope(detail_type: str, data: dict[str, Any]) -> Event:
    """A new EventBridge event of `detail_type` (the sample's envelope) carrying `data`."""
    event: Event = json.loads((BUS_SAMPLES / f"{detail_type}.json").read_text())
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    event["id"] = str(uuid.uuid4())
    event["time"] = now[:19] + "Z"
    event["detail"].update(eventId=str(uuid.uuid4()), occurredAt=now,
                           correlationId=str(uuid.uuid4()), data=data)
    return event


def _processed(result: Any) -> bool:
    return isinstance(result, dict) and result.get("status") == "processed"


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def notify_events(conn: pg8000.native.Connection, actors: Actors, n: int, *, replies: bool,
                  ) -> list[Event]:
    """comment.created of `n` approved comments of the post (replies: of someone else's
    comment, so the parent's author is notified too), as the repository announces them.
    News of a comment is told once: the notifications the seed holds about these comments
    are deleted first (untimed), so that each event is news."""
    rows = conn.run(
        "SELECT CAST(c.id AS text), CAST(c.author_id AS text), CAST(c.parent_id AS text),"
        " c.created_at FROM comments c JOIN commenters cm ON cm.user_id = c.author_id"
        " LEFT JOIN comments par ON par.id = c.parent_id"
        " WHERE c.post_id = CAST(:post AS uuid) AND c.status = 'approved'"
        " AND c.deleted_at IS NULL AND c.author_id <> c.post_author_id"
        " AND (CASE WHEN :replies THEN par.deleted_at IS NULL"
        "  AND par.author_id NOT IN (c.author_id, c.post_author_id) ELSE c.parent_id IS NULL"
        "  END) ORDER BY c.created_at DESC LIMIT :n",
        post=actors.post, replies=replies, n=n)
    conn.run("DELETE FROM notifications WHERE comment_id = ANY(CAST(:ids AS uuid[]))",
             ids=[r[0] for r in rows])
    return [_envelope("comment.created", {
        "id": r[0], "postId": actors.post, "postAuthorId": actors.author.id, "parentId": r[2],
        "authorId": r[1], "status": "approved", "createdAt": _iso(r[3])}) for r in rows]


def _written(conn: pg8000.native.Connection, since: dict[str, int]) -> dict[str, int]:
    now = {
        "notifications": _count(conn, "SELECT count(*) FROM notifications"),
        "outbox": _count(conn, "SELECT count(*) FROM outbox"
                         " WHERE detail_type = 'notification.created'"),
        "posts": _count(conn, "SELECT count(*) FROM posts"),
    }
    return {k: v - since.get(k, 0) for k, v in now.items()}


def run_consumer(run: ConsumerRun, consumer: wiring.Consumer, events: list[Event],
                 warmup: int, conn: pg8000.native.Connection) -> None:
    db = database(DOMAIN)
    handler = load_handler(consumer)
    inputs = [(e, context_for(consumer)) for e in events]
    first = time_calls(handler, inputs[:warmup], _processed, lambda: db.round_trips)
    if first.failures:
        run.errors.append(f"warm-up event failed: {first.first_failure}")
    before = _written(conn, {})
    start = time.perf_counter()
    run.samples = time_calls(handler, inputs[warmup:], _processed, lambda: db.round_trips)
    run.seconds = time.perf_counter() - start
    run.events = run.samples.n
    run.written = _written(conn, before)


def measure_consumers(conn: pg8000.native.Connection, actors: Actors, sizes: Sizes,
                      warmup: int, say: Say) -> list[ConsumerRun]:
    runs: list[ConsumerRun] = []
    notify = next(c for c in wiring.CONSUMERS if c.name == "comments-notify")
    posts = next(c for c in wiring.CONSUMERS if c.name == "comments-posts")
    for replies, label, per_event in (
        (False, "comment.created, top-level (notifies the post's author)", 1),
        (True, "comment.created, reply (notifies the parent's and the post's authors)", 2),
    ):
        run = ConsumerRun("notify-reply" if replies else "notify-top", label, notify.name)
        say(f"comments-scale: {notify.name}, {label}")
        events = notify_events(conn, actors, warmup + sizes.notify_events, replies=replies)
        run_consumer(run, notify, events, warmup, conn)
        wanted = run.events * per_event
        if run.written.get("notifications") != wanted or run.written.get("outbox") != wanted:
            run.errors.append(f"wrote {run.written} for {run.events} events, expected"
                              f" {wanted} notifications and notification.created outbox rows")
        run.notes.append(f"{per_event} notification(s) + notification.created outbox row(s)"
                         " per event, in the consumer's transaction")
        runs.append(run)

    run = ConsumerRun("posts-published", "post.published, a new post (opens it)", posts.name)
    say(f"comments-scale: {posts.name}, post.published")
    now = _iso(dt.datetime.now(dt.UTC))
    events = [_envelope("post.published", {
        "id": str(uuid.uuid4()), "slug": f"bench-post-{i}", "title": f"Bench post {i}",
        "authorId": actors.author.id, "status": "published", "publishedAt": now})
        for i in range(warmup + sizes.publish_events)]
    run_consumer(run, posts, events, warmup, conn)
    if run.written.get("posts") != run.events:
        run.errors.append(f"{run.written.get('posts')} posts rows for {run.events} events")
    runs.append(run)

    # A post with a few comments, then the post under test.
    (small, small_author) = conn.run(
        "SELECT CAST(c.post_id AS text), CAST(c.post_author_id AS text) FROM comments c"
        " WHERE c.post_id <> CAST(:p AS uuid) GROUP BY 1, 2 ORDER BY 1 LIMIT 1",
        p=actors.post)[0]
    runs.append(measure_post_deleted(conn, str(small), str(small_author), "another post",
                                     posts, say))
    runs.append(measure_post_deleted(conn, actors.post, actors.author.id, "the post under test",
                                     posts, say))
    return runs


_DELETED_COUNTS = {
    "comments": "SELECT count(*) FROM comments WHERE post_id = CAST(:p AS uuid)",
    "notifications": "SELECT count(*) FROM notifications WHERE post_id = CAST(:p AS uuid)",
    "comment_reports": ("SELECT count(*) FROM comment_reports r JOIN comments c"
                        " ON c.id = r.comment_id WHERE c.post_id = CAST(:p AS uuid)"),
    "moderation_decisions": ("SELECT count(*) FROM moderation_decisions d JOIN comments c"
                             " ON c.id = d.comment_id WHERE c.post_id = CAST(:p AS uuid)"),
}


def _explain_rolled_back(conn: pg8000.native.Connection, sql: str, params: dict[str, Any],
                         options: str) -> Any:
    conn.run("BEGIN")
    try:
        return conn.run(f"EXPLAIN (ANALYZE, BUFFERS, {options}) " + sql, **params)
    finally:
        conn.run("ROLLBACK")


def measure_post_deleted(conn: pg8000.native.Connection, post: str, author: str, what: str,
                         posts: wiring.Consumer, say: Say) -> ConsumerRun:
    """post.deleted of `post`: EXPLAIN ANALYZE of the consumer's statement (in a transaction
    rolled back), then the real consumer, once."""
    db = database(DOMAIN)
    handler = load_handler(posts)
    title, slug = conn.run("SELECT title, slug FROM posts WHERE post_id = CAST(:p AS uuid)",
                           p=post)[0]
    before = {k: _count(conn, sql, p=post) for k, sql in _DELETED_COUNTS.items()}
    run = ConsumerRun("posts-deleted", f"post.deleted of {what} ({before['comments']:,}"
                      " comments)", posts.name)
    say(f"comments-scale: {posts.name}, {run.label}")

    def deleted(post_id: str) -> Event:
        return _envelope("post.deleted", {"id": post_id, "slug": slug, "title": title,
                                          "authorId": author, "status": "published"})

    # An untimed one on a post without comments: the statement, and a warm handler.
    with recording() as steps:
        one = time_calls(handler, [(deleted(str(uuid.uuid4())), context_for(posts))],
                         _processed, lambda: db.round_trips)
    if one.failures:
        run.errors.append(f"warm-up event failed: {one.first_failure}")
    statement = next((s for s in steps if not s.control and "DELETE" in s.sql), None)
    if statement is not None:
        params = dict(statement.params, id=post)
        found = _explain_rolled_back(conn, statement.sql, params, "FORMAT JSON")
        document = found[0][0][0] if isinstance(found[0][0], list) else found[0][0]
        facts = plan_facts(document)
        scans = [scan for scan in facts.scans if not scan.startswith("ModifyTable")]
        run.notes.append(
            f"its statement (EXPLAIN ANALYZE, rolled back): {facts.server_ms:.0f} ms in the"
            f" server; scans: {'; '.join(scans)}; foreign-key triggers: "
            + ("; ".join(f"{t.get('Constraint Name', t.get('Trigger Name'))}"
                         f" {t.get('Calls', 0):,} calls {t.get('Time', 0):.0f} ms"
                         for t in document.get("Triggers", ())) or "none"))
        run.plan = [str(r[0]) for r in _explain_rolled_back(conn, statement.sql, params,
                                                            "COSTS OFF")]
        run.triggers = [line.strip() for line in run.plan if line.startswith("Trigger")]
    run.samples = time_calls(handler, [(deleted(post), context_for(posts))], _processed,
                             lambda: db.round_trips)
    run.seconds, run.events = sum(run.samples.seconds), run.samples.n
    after = {k: _count(conn, sql, p=post) for k, sql in _DELETED_COUNTS.items()}
    run.written = {f"{k} deleted": before[k] - after[k] for k in _DELETED_COUNTS}
    left = {k: v for k, v in after.items() if v}
    if left:
        run.errors.append(f"left behind: {left}")
    return run


# --- the section -----------------------------------------------------------------------------

def run(options: argparse.Namespace, server_url: str, say: Say) -> CommentsSection:
    """Create, seed and measure; the database is dropped afterwards."""
    started = time.perf_counter()
    sizes = Sizes(comments=options.comments_scale_comments)
    section = CommentsSection(sizes=sizes)
    actors = new_actors()
    with scale_database(server_url, DATABASE, DOMAIN, SECTION, say) as (url, conn):
        seed(conn, sizes, actors, section, say)
        with functions_on(DOMAIN, url):
            section.calls = build_calls(conn, actors, section, say)
            measure(section.calls, conn, n=options.comments_scale_calls,
                    warmup=options.warmup, say=say)
            section.consumers = measure_consumers(conn, actors, sizes, options.warmup, say)
    section.measure_s = time.perf_counter() - started
    return section
