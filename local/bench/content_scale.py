"""The content data-scale section of `make bench` (issue 4, "Performance").

A database of its own (``inkwell_bench_scale_content``, content migrations applied, dropped
afterwards), so that the per-function scenarios and this section never see each other's
rows. It is seeded with a few INSERT ... SELECT generate_series statements (the posts one
split over two connections: computing the generated `search` tsvector is most of the work):

- 1,000 authors (the read model the content-users consumer keeps; 1% deactivated, whose
  posts the public reads must skip);
- 100,000 posts spread evenly over them (~10% drafts), published one every 5 minutes back
  from now (about a year), written oldest first; ~1.4 KB of body each made of 200 common
  words, plus one `themeN` word of 97 (a search term in ~1% of the posts), and `vintage` in
  the oldest 1% only; 3 tags each out of 200: 10 popular (~9% of the posts each), 40
  middling (2.2%), 150 rare (0.6%);
- `published_tags`: one row per tag of a published post, as the repository keeps it;
- follows: a reader follows 50 authors, every author follows 10 others;
- favorites: the reader's every 50th post, and 0 to 3 authors' per post; every post's
  `favorites_count` agrees with its rows (checked, as is `published_tags`);
- then VACUUM ANALYZE.

Then every read runs through its real handler, with a real API Gateway event, signed in
as the reader, interleaved call by call in a shuffled order each round (20 untimed rounds,
then 200 timed ones by default; the slow `vintage` search only every 10th round), every
response checked. Deep pages use the cursor the service would have handed out: built from
the sort key of the last row of the previous page (found with SQL, with the service's
visibility rules) with `inkwell.pagination.encode_cursor`, exactly as
`content.service._page` encodes it. The bench checks that this builder reproduces the
`nextCursor` of page 1, and that the deep page starts with the row after the key. Walking
999 pages through the handler would give the same cursor, ~5 s later.

Each read's statement is recorded during one call and run once more under
``EXPLAIN (ANALYZE, BUFFERS)`` on the same data: the section shows the rows the scans read,
the buffers touched and the plan's scans next to the latencies (build/bench.json has the
whole plans).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pg8000.native

import wiring
from inkwell.db import database
from inkwell.pagination import encode_cursor
from local.bench.scale_common import DEEP_BUDGET as DEEP_BUDGET  # a deep page's, issue 4
from local.bench.scale_common import DROP_PREFIX as DROP_PREFIX
from local.bench.scale_common import PAGE as PAGE
from local.bench.scale_common import PlanFacts as PlanFacts
from local.bench.scale_common import Say as Say
from local.bench.scale_common import (
    ScaleResults,
    explain_sql,
    functions_on,
    interleave,
    items_check,
    one_statement,
    record_call,
    scale_database,
    timed,
    vacuum_analyze,
)
from local.bench.scale_common import connect as connect
from local.bench.scale_common import deep_page as deep_page
from local.bench.scale_common import plan_facts as plan_facts
from local.bench.scenarios import Event, SeedUser, http_event
from local.bench.sql import Step
from local.bench.timing import Samples
from local.dispatch import context_for, load_handler

SECTION = "content-scale"
DATABASE = "inkwell_bench_scale_content"
DOMAIN = "content"
FOLLOWED = 50
FAVORITE_EVERY = 50  # the reader has favorited every 50th post
# A published post's favorites: the reader's, and i % 4 authors' (the favorites statement).
FAVORITES_OF_I = f"i % 4 + CASE WHEN i % {FAVORITE_EVERY} = 1 THEN 1 ELSE 0 END"

POPULAR_TAGS = [
    "serverless", "python", "aws", "postgres", "lambda", "devops", "testing", "design",
    "career", "security",
]
TAGS = POPULAR_TAGS + [f"topic-{i:03d}" for i in range(190)]  # 10 + 40 + 150
# The words the bodies are made of (~1.5 KB each): every word is in most posts.
_WORDS = (
    "function cold start warm request response latency memory runtime handler import module "
    "package layer bundle deploy stack region account role policy permission secret token "
    "database query index table row column schema migration transaction commit rollback "
    "connection pool proxy socket network packet bandwidth throughput queue event stream "
    "topic message consumer producer retry backoff timeout error exception trace metric log "
    "alarm dashboard budget cost price invoice storage bucket object file cache hit miss "
    "eviction key value hash tree graph node edge vertex path route gateway endpoint method "
    "header body cookie session user group admin author reader writer editor draft post "
    "comment reply thread tag feed list page cursor offset limit order sort filter search "
    "match score rank weight vector matrix tensor model train test validate deploy release "
    "version branch merge review approve reject build pipeline job step stage artifact image "
    "container cluster pod service mesh sidecar agent daemon process thread fiber coroutine "
    "async await future promise callback closure scope binding variable constant literal "
    "string integer float boolean array map set tuple record struct class object method "
    "interface trait generic type check lint format style guide rule pattern practice habit"
)
WORDS = _WORDS.split()
COMMON_WORD = "latency"
THEMES = 97  # body word theme0 .. theme96: each in ~1% of the posts
RARE_WORD = "theme42"
OLD_WORD = "vintage"  # only in the oldest 1% of the posts
OLD_WORD_EVERY = 10  # its read is slow: it takes part in every 10th round only
TAG = "serverless"
DEEP_PAGE = 1000


@dataclass(frozen=True)
class Sizes:
    posts: int = 100_000
    authors: int = 1_000


def seed_statements(sizes: Sizes, reader_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, SQL, parameters) of the seeding statements, in order."""
    authors = (
        "INSERT INTO authors (user_id, username, first_name, last_name, is_active, version)"
        " SELECT gen_random_uuid(), 'author' || lpad(CAST(i AS text), 4, '0'), 'Author',"
        "  'Number ' || i, i % 100 <> 0, now()"
        " FROM generate_series(1, CAST(:authors AS integer)) AS i"
    )
    posts = (
        "WITH an AS (SELECT user_id, CAST(row_number() OVER (ORDER BY username) AS integer) - 1"
        "  AS n FROM authors),"
        " v AS (SELECT CAST(:words AS text[]) AS w, cardinality(CAST(:words AS text[])) AS nw,"
        "  CAST(:tags AS text[]) AS t),"
        # 997 paragraphs of 100 words; a body is two of them and one theme word. Joined by
        # number (an array of them would be copied for every row).
        " paras AS (SELECT j, string_agg(v.w[1 + (j * 131 + k * 29 + k * k * 7) % v.nw], ' '"
        "  ORDER BY k) || '.' AS p FROM v, generate_series(0, 996) AS j,"
        "  generate_series(1, 100) AS k GROUP BY j)"
        " INSERT INTO posts (slug, title, summary, body, tags, status, author_id, published_at,"
        "  slug_locked, favorites_count, created_at, updated_at)"
        " SELECT 'post-' || i || '-' || v.w[1 + (i * 7) % v.nw],"
        "  initcap(v.w[1 + (i * 7) % v.nw]) || ' ' || v.w[1 + (i * 13) % v.nw] || ' and '"
        "   || v.w[1 + (i * 29) % v.nw] || ', part ' || i,"
        "  'What we learned about ' || v.w[1 + (i * 13) % v.nw] || ' in post ' || i || '.',"
        "  p1.p || ' theme' || (i % " + str(THEMES) + ") || '. ' || p2.p"
        "   || CASE WHEN i > CAST(:old_from AS integer) THEN ' " + OLD_WORD + ".' ELSE '' END,"
        "  ARRAY[v.t[1 + i % 10], v.t[11 + (i * 7) % 40], v.t[51 + (i * 13) % 150]],"
        "  CASE WHEN draft THEN 'draft' ELSE 'published' END, an.user_id,"
        "  CASE WHEN draft THEN NULL ELSE stamp END, NOT draft,"
        "  CASE WHEN draft THEN 0 ELSE " + FAVORITES_OF_I + " END,"
        "  stamp - interval '1 hour', stamp"
        # oldest first, as they would have been written
        " FROM generate_series(CAST(:last AS integer), CAST(:first AS integer), -1) AS i"
        "  JOIN an ON an.n = i % CAST(:authors AS integer)"
        "  JOIN paras p1 ON p1.j = i % 997 JOIN paras p2 ON p2.j = (i * 7) % 997"
        "  CROSS JOIN v,"
        "  LATERAL (SELECT now() - make_interval(mins => i * 5), (i * 7919) % 97 < 10)"
        "   AS s(stamp, draft)"
        " ORDER BY i DESC"  # the heap in publication order, as years of writing leave it
    )
    published_tags = (
        "INSERT INTO published_tags (tag, published_at, post_id, author_id)"
        " SELECT tag, p.published_at, p.id, p.author_id"
        " FROM posts p, unnest(p.tags) AS tag WHERE p.status = 'published'"
    )
    follows = (
        "WITH a AS (SELECT array_agg(user_id ORDER BY username) AS ids FROM authors)"
        " INSERT INTO follows (follower_id, author_id, following, changed_at)"
        " SELECT a.ids[1 + i], a.ids[1 + (i + 1 + k * 37) % cardinality(a.ids)], true, now()"
        " FROM a, generate_series(0, cardinality(a.ids) - 1) AS i, generate_series(0, 9) AS k"
        " ON CONFLICT DO NOTHING"
    )
    reader = (
        "WITH a AS (SELECT array_agg(user_id ORDER BY username) AS ids FROM authors"
        "  WHERE is_active)"
        " INSERT INTO follows (follower_id, author_id, following, changed_at)"
        " SELECT CAST(:reader AS uuid),"
        "  a.ids[1 + k * (cardinality(a.ids) / CAST(:followed AS integer))],"
        "  true, now() FROM a, generate_series(0, CAST(:followed AS integer) - 1) AS k"
    )
    # The rows behind each published post's favorites_count (set by the posts statement):
    # the reader's every 50th post, and i % 4 authors' (distinct: 131 k mod authors).
    favorites = (
        "WITH an AS (SELECT user_id, CAST(row_number() OVER (ORDER BY username) AS integer) - 1"
        "  AS n FROM authors),"
        " p AS (SELECT id, CAST(split_part(slug, '-', 2) AS integer) AS i FROM posts"
        "  WHERE status = 'published')"
        " INSERT INTO favorites (user_id, post_id)"
        " SELECT CAST(:reader AS uuid), p.id FROM p WHERE p.i % " + str(FAVORITE_EVERY) + " = 1"
        " UNION ALL"
        " SELECT an.user_id, p.id FROM p CROSS JOIN LATERAL generate_series(1, p.i % 4) AS k"
        "  JOIN an ON an.n = (p.i + k * 131) % CAST(:authors AS integer)"
    )
    return [
        ("authors", authors, {"authors": sizes.authors}),
        ("posts", posts, {"first": 1, "last": sizes.posts, "authors": sizes.authors,
                          "old_from": sizes.posts - sizes.posts // 100,
                          "words": WORDS, "tags": TAGS}),
        ("published_tags", published_tags, {}),
        ("follows", follows, {}),
        ("reader's follows", reader, {"followed": FOLLOWED, "reader": reader_id}),
        ("favorites", favorites, {"reader": reader_id, "authors": sizes.authors}),
    ]


# --- results ---------------------------------------------------------------------------------

@dataclass
class Read:
    key: str
    label: str
    route: wiring.Route
    events: list[Event]
    check: Callable[[Any], bool]
    baseline: str | None = None  # the key of the page-1 read a deep page is held to
    every: int = 1  # takes part in every `every`-th round (slow reads: fewer calls)
    samples: Samples = field(default_factory=Samples)
    plan: PlanFacts | None = None
    statements: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return self.samples.n


@dataclass
class ScaleSection(ScaleResults[Read]):
    sizes: Sizes = field(default_factory=Sizes)
    reads: list[Read] = field(default_factory=list)

    def timed(self) -> list[Read]:
        return self.reads

    def read(self, key: str) -> Read | None:
        return next((r for r in self.reads if r.key == key), None)

    @staticmethod
    def round_trips_pass(r: Read) -> bool | None:
        return r.samples.round_trips_fixed if r.n else None


# --- the database ----------------------------------------------------------------------------

def _chunks(first: int, last: int, parts: int) -> list[tuple[int, int]]:
    """[first, last] cut into `parts` contiguous ranges (fewer if it is short)."""
    size = -(-(last - first + 1) // max(1, parts))
    return [(lo, min(last, lo + size - 1)) for lo in range(first, last + 1, size)]


def _run_split(url: str, sql: str, params: dict[str, Any], workers: int) -> None:
    """Run the posts statement over `workers` ranges of the series, one connection each:
    the generated `search` column (to_tsvector of title and body) is most of the work."""
    from concurrent.futures import ThreadPoolExecutor

    def one(bounds: tuple[int, int]) -> None:
        conn = connect(url)
        try:
            conn.run("SET work_mem = '256MB'")  # the ORDER BY sorts in memory
            conn.run(sql, **dict(params, first=bounds[0], last=bounds[1]))
        finally:
            conn.close()

    # The newest posts (low i) first: both halves end up in publication order on disk.
    parts = _chunks(params["first"], params["last"], workers)
    with ThreadPoolExecutor(max_workers=len(parts)) as pool:
        for future in [pool.submit(one, bounds) for bounds in parts]:
            future.result()


def seed(conn: pg8000.native.Connection, url: str, sizes: Sizes, reader: SeedUser,
         section: ScaleSection, say: Say, workers: int = 2) -> None:
    for label, sql, params in seed_statements(sizes, reader.id):
        with timed(section.seed_s, label):
            if label == "posts" and workers > 1:
                say(f"{SECTION}: seeding {label} ({workers} connections)")
                _run_split(url, sql, params, workers)
            else:
                say(f"{SECTION}: seeding {label}")
                conn.run(sql, **params)
    vacuum_analyze(conn, section.seed_s, SECTION, say)
    for table in ("authors", "posts", "published_tags", "follows", "favorites"):
        section.counts[table] = int(conn.run(f"SELECT count(*) FROM {table}")[0][0])
    section.counts["published"] = int(conn.run(
        "SELECT count(*) FROM posts WHERE status = 'published'")[0][0])
    section.counts["tags"] = int(conn.run(
        "SELECT count(DISTINCT tag) FROM published_tags")[0][0])
    section.counts["bytes"] = int(conn.run(
        "SELECT sum(pg_total_relation_size(oid)) FROM pg_class"
        " WHERE relname IN ('posts', 'published_tags', 'authors', 'follows', 'favorites')"
        " AND relkind = 'r'")[0][0])
    section.counts["reader_favorites"] = int(conn.run(
        "SELECT count(*) FROM favorites WHERE user_id = CAST(:r AS uuid)", r=reader.id)[0][0])
    # The seed is what the repository would have written: check the derived rows.
    tags_expected = int(conn.run(
        "SELECT coalesce(sum(cardinality(tags)), 0) FROM posts WHERE status = 'published'"
    )[0][0])
    if tags_expected != section.counts["published_tags"]:
        section.errors.append(f"seed: {section.counts['published_tags']} published_tags rows,"
                              f" expected {tags_expected}")
    wrong_counts = int(conn.run(
        "SELECT count(*) FROM posts p WHERE p.favorites_count <>"
        " (SELECT count(*) FROM favorites f WHERE f.post_id = p.id)")[0][0])
    if wrong_counts:
        section.errors.append(f"seed: {wrong_counts} posts whose favorites_count is not their"
                              " favorites rows")


# --- keys of deep pages ----------------------------------------------------------------------

VISIBLE = (
    " JOIN authors a ON a.user_id = p.author_id AND a.is_active WHERE p.status = 'published'"
)


def keys_at(conn: pg8000.native.Connection, offset: int, *, tag: str | None = None,
            ) -> list[tuple[Any, str]]:
    """(published_at, id) of the visible published posts at `offset` and the next, in the
    service's order (newest first, ties by id), optionally of one tag."""
    if tag is None:
        sql = ("SELECT p.published_at, CAST(p.id AS text) FROM posts p" + VISIBLE
               + " ORDER BY p.published_at DESC, p.id DESC OFFSET :offset LIMIT 2")
        rows = conn.run(sql, offset=offset)
    else:
        sql = ("SELECT p.published_at, CAST(p.id AS text)"
               " FROM published_tags k JOIN posts p ON p.id = k.post_id" + VISIBLE
               + " AND k.tag = :tag ORDER BY k.published_at DESC, k.post_id DESC"
               " OFFSET :offset LIMIT 2")
        rows = conn.run(sql, offset=offset, tag=tag)
    return [(r[0], str(r[1])) for r in rows]


def cursor_after(key: tuple[Any, str]) -> str:
    """The nextCursor the service hands out after an item with sort key `key`
    (content.service._page: encode_cursor(published_at.isoformat(), id))."""
    return encode_cursor(key[0].isoformat(), key[1])


def visible_count(conn: pg8000.native.Connection, *, tag: str | None = None,
                  q: str | None = None) -> int:
    sql = "SELECT count(*) FROM posts p" + VISIBLE
    params: dict[str, Any] = {}
    if tag is not None:
        sql += " AND :tag = ANY(p.tags)"
        params["tag"] = tag
    if q is not None:
        sql += " AND p.search @@ websearch_to_tsquery('simple', :q)"
        params["q"] = q
    return int(conn.run(sql, **params)[0][0])


# --- EXPLAIN ---------------------------------------------------------------------------------

def explain(conn: pg8000.native.Connection, steps: Sequence[Step]) -> PlanFacts | None:
    """EXPLAIN the one statement of a recorded read (None if it sent other than one)."""
    step = one_statement(steps)
    return None if step is None else explain_sql(conn, step.sql, step.params)[0]


# --- the reads -------------------------------------------------------------------------------

def page_check(count: int, first_id: str | None = None) -> Callable[[Any], bool]:
    """A 200 with the page a list of `count` items gives (and a nextCursor when more
    follow), starting with `first_id` if given."""
    return items_check(min(PAGE, count), count > PAGE, first_id)


def deep_page_check(count: int, page: int, first_id: str) -> Callable[[Any], bool]:
    return page_check(count - (page - 1) * PAGE, first_id)


def _ok_post(result: Any) -> bool:
    return isinstance(result, dict) and result.get("statusCode") == 200


def _ok_tags(result: Any) -> bool:
    if not isinstance(result, dict) or result.get("statusCode") != 200:
        return False
    items = json.loads(result["body"])["items"]
    return len(items) == PAGE and items[0]["tag"] in POPULAR_TAGS


def build_reads(conn: pg8000.native.Connection, reader: SeedUser, n: int,
                section: ScaleSection) -> list[Read]:
    """The reads, each with `n` events (the same request, or a new slug each call)."""
    posts = wiring.route_by_name("content-list-posts")
    get = wiring.route_by_name("content-get-post")
    feed = wiring.route_by_name("content-get-feed")
    tags = wiring.route_by_name("content-list-tags")

    def listing(query: dict[str, str] | None = None) -> list[Event]:
        return [http_event(posts, posts.path, caller=reader, query=query) for _ in range(n)]

    reads: list[Read] = []
    visible = visible_count(conn)
    deep = deep_page(visible, DEEP_PAGE)
    before, first = keys_at(conn, (deep - 1) * PAGE - 1)
    reads.append(Read("list-1", "list, page 1", posts, listing(), page_check(visible)))
    reads.append(Read("list-deep", f"list, page {deep} (cursor)", posts,
                      listing({"cursor": cursor_after(before)}),
                      deep_page_check(visible, deep, first[1]), baseline="list-1"))
    section.notes.append(
        f"page {deep}: its cursor is built from the sort key of visible row"
        f" {(deep - 1) * PAGE:,} (the last of page {deep - 1}, found with SQL) with the"
        " service's encoding; the bench checks that the builder reproduces page 1's"
        " nextCursor, and that the deep page starts with the next row (the tag's deep page"
        " likewise)")

    tagged = visible_count(conn, tag=TAG)
    tag_deep = deep_page(tagged, (tagged * 9 // 10) // PAGE)
    tag_before, tag_first = keys_at(conn, (tag_deep - 1) * PAGE - 1, tag=TAG)
    reads.append(Read("tag-1", f"tag '{TAG}' ({tagged:,} posts), page 1", posts,
                      listing({"tag": TAG}), page_check(tagged)))
    reads.append(Read("tag-deep", f"tag '{TAG}', page {tag_deep} (cursor)", posts,
                      listing({"tag": TAG, "cursor": cursor_after(tag_before)}),
                      deep_page_check(tagged, tag_deep, tag_first[1]), baseline="tag-1"))

    author = str(conn.run("SELECT username FROM authors WHERE is_active ORDER BY username"
                          " OFFSET 16 LIMIT 1")[0][0])
    by_author = int(conn.run(
        "SELECT count(*) FROM posts p JOIN authors a ON a.user_id = p.author_id"
        " WHERE a.username = :u AND p.status = 'published'", u=author)[0][0])
    reads.append(Read("author-1", f"author '{author}' ({by_author} posts), page 1", posts,
                      listing({"author": author}), page_check(by_author)))

    for key, word, what, every in (
        ("search-rare", RARE_WORD, "", 1),
        ("search-common", COMMON_WORD, "", 1),
        ("search-old", OLD_WORD, ", all among the oldest 1%", OLD_WORD_EVERY),
    ):
        found = visible_count(conn, q=word)
        reads.append(Read(key, f"search q={word} ({found:,} matches{what}), page 1", posts,
                          listing({"q": word}), page_check(found), every=every))

    slugs = [str(r[0]) for r in conn.run(
        "SELECT p.slug FROM posts p" + VISIBLE + " ORDER BY random() LIMIT :n", n=n)]
    reads.append(Read("slug", "get by slug (a random post each call)", get, [
        http_event(get, get.path.replace("{id}", slug), caller=reader,
                   path_parameters={"id": slug}) for slug in slugs], _ok_post))

    followed = int(conn.run(
        "SELECT count(*) FROM follows fo JOIN posts p ON p.author_id = fo.author_id" + VISIBLE
        + " AND fo.follower_id = CAST(:r AS uuid) AND fo.following", r=reader.id)[0][0])
    reads.append(Read("feed", f"feed (following {FOLLOWED} authors), page 1", feed,
                      [http_event(feed, feed.path, caller=reader) for _ in range(n)],
                      page_check(followed)))
    reads.append(Read("tags", f"tags list (top {PAGE} of {section.counts.get('tags', 0)})",
                      tags, [http_event(tags, tags.path) for _ in range(n)], _ok_tags))
    return reads


def check_cursor_builder(conn: pg8000.native.Connection, read: Read) -> str | None:
    """Why the cursor builder does not give page 1's nextCursor (None when it does)."""
    (row20, _) = keys_at(conn, PAGE - 1)
    handler = load_handler(read.route)
    result = handler(read.events[0], context_for(read.route))
    if not isinstance(result, dict) or result.get("statusCode") != 200:
        return f"page 1 failed: {str(result)[:200]}"
    handed_out = json.loads(result["body"]).get("nextCursor")
    built = cursor_after(row20)
    if handed_out != built:
        return f"the cursor builder gives {built!r}, the service {handed_out!r}"
    return None


def measure(reads: list[Read], conn: pg8000.native.Connection, *, calls: int, warmup: int,
            say: Say) -> None:
    content = database(DOMAIN)

    def round_trips() -> int:
        return content.round_trips

    # One recorded call each (untimed): the statement for EXPLAIN, the check of the response.
    for read in reads:
        steps = record_call(read, read.events[0], round_trips)
        try:
            read.plan = explain(conn, steps)
        except Exception as exc:  # evidence only: the timings stand without it
            read.errors.append(f"EXPLAIN failed: {type(exc).__name__}: {exc}")

    say(f"{SECTION}: {len(reads)} reads interleaved ({warmup} warm-up + {calls} timed"
        " rounds)")

    def event(read: Read, round_: int) -> Event | None:
        return None if round_ % read.every else read.events[round_ % len(read.events)]

    interleave(reads, warmup=warmup, calls=calls, seed=20240603, event=event,
               round_trips=round_trips)


def run(options: argparse.Namespace, server_url: str, say: Say) -> ScaleSection:
    """Create, seed and measure; the database is dropped afterwards."""
    started = time.perf_counter()
    sizes = Sizes(posts=options.scale_posts, authors=options.scale_authors)
    section = ScaleSection(sizes=sizes)
    reader = SeedUser(str(uuid.uuid4()), "scale-reader", "user")
    with scale_database(server_url, DATABASE, DOMAIN, SECTION, say) as (url, conn):
        seed(conn, url, sizes, reader, section, say,
             workers=max(1, min(2, os.cpu_count() or 1)))
        calls, warmup = options.scale_calls, options.warmup
        with functions_on(DOMAIN, url):
            section.reads = build_reads(conn, reader, warmup + calls, section)
            problem = check_cursor_builder(conn, section.reads[0])
            if problem:
                section.errors.append(f"cursor: {problem}")
            measure(section.reads, conn, calls=calls, warmup=warmup, say=say)
    section.measure_s = time.perf_counter() - started
    return section
