"""The content routes' scenarios (`local.bench.scenarios.build` adds them).

The content database is seeded with plain SQL, in bulk, before any clock starts:

- the authors read model: one row per bench user that writes or reads content, as the
  content-users consumer keeps it from the users events (display fields, active);
- posts: a small public corpus (10 authors x 20 published posts, 3 of 20 tags each, their
  `published_tags` rows), and per call of a write the post that call needs, in the state
  its operation changes, written the way the repository writes them (published posts have
  `published_at`, a locked slug and one `published_tags` row per tag);
- follows (content's read model of the feed): the reader follows the 10 authors.

Every call gets fresh, valid input and takes the success path:

- create-post writes a new draft (a new title, so the plain slug is free) with 3 tags;
- update-post changes the title and the tags (one tag replaced) of a published post, cycling
  over 20 of them: each call re-syncs `published_tags`;
- delete-post deletes a published post of its own (its tags and favorites go with it);
- publish-post publishes a draft of its own, unpublish-post takes a published post of its
  own back to draft;
- favorite-post favorites a published post the reader has not favorited, unfavorite-post
  removes the reader's favorite of a post of its own (seeded with its favorites row and a
  count of 1);
- the reads: page 1 of the public list (signed-in reader), a published post by slug, the
  author's own posts, the tags, the reader's feed.

The bare twins replay the recorded SQL; a write's twin swaps in the id of its own post (and
the new title, its slug and the tags), as the function would send them.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

import wiring
from content.slugs import slugify
from local.bench.scenarios import (
    BareWork,
    Check,
    Event,
    Seeder,
    SeedUser,
    bare_handler,
    http_event,
)

Add = Callable[..., None]

TAGS = [
    "serverless", "python", "aws", "postgres", "lambda", "devops", "testing", "design",
    "career", "security", "rust", "go", "databases", "frontend", "cloud", "data",
    "architecture", "performance", "tutorial", "opinion",
]
CORPUS_AUTHORS = 10
CORPUS_POSTS_PER_AUTHOR = 20
UPDATE_POOL = 20

SUMMARY = "What a cold start costs, measured, and what to do about it."
BODY = (
    "Serverless functions start cold when no execution environment is ready for them. "
    "The runtime boots, the code is imported, and only then does the first request run. "
    "This post measures each part, shows where the milliseconds go, and keeps the changes "
    "that paid for themselves. "
) * 6  # ~1.6 KB of text: a short post

INSERT_POSTS = (
    "WITH new AS ("
    " INSERT INTO posts (slug, title, summary, body, tags, status, author_id, published_at,"
    "  slug_locked, favorites_count, created_at, updated_at)"
    " SELECT CAST(:prefix AS text) || '-' || i, 'Bench post ' || CAST(:prefix AS text) || ' ' || i,"
    "  CAST(:summary AS text), CAST(:body AS text),"
    "  ARRAY[t.tags[1 + i % 20], t.tags[1 + (i + 3) % 20], t.tags[1 + (i + 7) % 20]],"
    "  CAST(:status AS text), CAST(:author AS uuid),"
    "  CASE WHEN CAST(:status AS text) = 'published' THEN stamp END,"
    "  CAST(:status AS text) = 'published',"
    "  CASE WHEN CAST(:fan AS uuid) IS NULL THEN 0 ELSE 1 END, stamp, stamp"
    " FROM generate_series(1, CAST(:n AS integer)) AS i,"
    "  (SELECT CAST(:tags AS text[]) AS tags) AS t,"
    "  LATERAL (SELECT now() - make_interval(secs => i * CAST(:step AS double precision)))"
    "   AS s(stamp)"
    " RETURNING id, slug, tags, status, published_at, author_id, created_at)"
    ", tagged AS ("
    " INSERT INTO published_tags (tag, published_at, post_id, author_id)"
    " SELECT DISTINCT tag, new.published_at, new.id, new.author_id"
    " FROM new, unnest(new.tags) AS tag WHERE new.status = 'published')"
    ", favored AS ("
    " INSERT INTO favorites (user_id, post_id)"
    " SELECT CAST(:fan AS uuid), id FROM new WHERE CAST(:fan AS uuid) IS NOT NULL)"
    " SELECT CAST(id AS text), slug FROM new ORDER BY created_at DESC"
)


class ContentSeeder:
    """Authors, posts and follows in the content database, with plain SQL."""

    def __init__(self, seeder: Seeder) -> None:
        self.seeder = seeder

    def authors(self, users: list[SeedUser]) -> None:
        """The authors read-model rows of `users`, as the consumer writes them."""
        self.seeder.content.run(
            "INSERT INTO authors (user_id, username, first_name, last_name, is_active, version)"
            " SELECT u, n, 'Bench', 'User', true, now()"
            " FROM unnest(CAST(:ids AS uuid[]), CAST(:names AS text[])) AS t(u, n)"
            " ON CONFLICT (user_id) DO NOTHING",
            ids=[u.id for u in users], names=[u.username for u in users],
        )

    def posts(self, author: SeedUser, n: int, *, status: str = "published",
              fan: SeedUser | None = None, step_s: float = 1.0) -> list[tuple[str, str]]:
        """`n` posts of `author` in `status` (3 tags each), newest first: (id, slug).
        With `fan`, each is favorited by `fan` (favorites row, count 1)."""
        if n <= 0:
            return []
        prefix = self.seeder.names("post", 1)[0]
        rows = self.seeder.content.run(
            INSERT_POSTS, prefix=prefix, summary=SUMMARY, body=BODY, tags=TAGS,
            status=status, author=author.id, fan=fan.id if fan else None, n=n, step=step_s,
        )
        return [(str(r[0]), str(r[1])) for r in rows]

    def follow(self, follower: SeedUser, authors: list[SeedUser]) -> None:
        """Live follows rows, as the consumer writes them from user.followed."""
        self.seeder.content.run(
            "INSERT INTO follows (follower_id, author_id, following, changed_at)"
            " SELECT CAST(:f AS uuid), a, true, now() FROM unnest(CAST(:authors AS uuid[])) a"
            " ON CONFLICT (follower_id, author_id) DO UPDATE SET following = true",
            f=follower.id, authors=[a.id for a in authors],
        )


def _json(result: Any) -> Any:
    return json.loads(result["body"]) if result.get("body") else None


def responds(code: int, test: Callable[[Any], bool] = lambda _: True) -> Check:
    """The status is `code` and the JSON body passes `test`."""

    def check(result: Any) -> bool:
        if not isinstance(result, dict) or result.get("statusCode") != code:
            return False
        try:
            return bool(test(_json(result)))
        except (ValueError, KeyError, TypeError):
            return False

    return check


def full_page(body: Any) -> bool:
    return len(body["items"]) == 20 and bool(body["nextCursor"])


def _body(event: Event) -> Any:
    return json.loads(event["body"]) if event.get("body") else None


def _path_id(event: Event) -> str:
    return str((event.get("pathParameters") or {})["id"])


def add_all(seeder: Seeder, add: Add) -> None:
    """Seed the content database and add a scenario per content route."""
    db = ContentSeeder(seeder)
    author = seeder.user("author")  # writes: the caller of every write but favorites
    reader = seeder.user("reader")  # reads the lists, favorites, follows the corpus
    corpus = seeder.users("corpus", CORPUS_AUTHORS)
    db.authors([author, reader, *corpus])
    for i, a in enumerate(corpus):
        db.posts(a, CORPUS_POSTS_PER_AUTHOR, step_s=60.0 * (1 + i / 10))
    db.follow(reader, corpus)
    db.posts(author, 20)  # the author's own posts, for list-my-posts (with the drafts)
    db.posts(author, 10, status="draft")
    slug_of_a_post = db.posts(corpus[0], 1)[0][1]
    update_pool = [post_id for post_id, _ in db.posts(author, UPDATE_POOL)]
    author_token = seeder.access_token(author)
    reader_token = seeder.access_token(reader)
    serial = [0]

    def route(name: str) -> wiring.Route:
        return wiring.route_by_name(name)

    def on_post(name: str, post_id: str, caller: SeedUser, token: str,
                body: Any = None) -> Event:
        r = route(name)
        return http_event(r, r.path.replace("{id}", post_id), body=body, caller=caller,
                          token=token, path_parameters={"id": post_id})

    def by_id(event: Event) -> BareWork:
        return {"id": _path_id(event)}, None

    def by_id_no_body(event: Event) -> BareWork:
        return {"id": _path_id(event)}, lambda _: None

    # --- create_post: a new draft with a new title
    def create_events(n: int) -> list[Event]:
        r = route("content-create-post")
        return [
            http_event(r, r.path, caller=author, token=author_token, body={
                "title": f"Measuring cold starts, take {secrets.token_hex(5)}",
                "summary": SUMMARY, "body": BODY, "tags": ["serverless", "python", "aws"],
            })
            for _ in range(n)
        ]

    def create_bare(event: Event) -> BareWork:
        title = _body(event)["title"]
        return {"title": title, "slug": slugify(title)}, None

    add("content-create-post", events=create_events,
        check=responds(201, lambda b: b["status"] == "draft"), expected="201 draft",
        bare=bare_handler(create_bare, 201), bare_overrides=frozenset({"title", "slug"}))

    # --- list_posts: page 1 of the public list, signed-in reader
    def list_events(n: int) -> list[Event]:
        r = route("content-list-posts")
        return [http_event(r, r.path, caller=reader, token=reader_token) for _ in range(n)]

    add("content-list-posts", events=list_events, check=responds(200, full_page),
        expected="200, 20 items + nextCursor", bare=bare_handler(lambda _: ({}, None), 200))

    # --- get_post: a published post by slug, signed-in reader
    def get_events(n: int) -> list[Event]:
        r = route("content-get-post")
        return [http_event(r, r.path.replace("{id}", slug_of_a_post), caller=reader,
                           token=reader_token, path_parameters={"id": slug_of_a_post})
                for _ in range(n)]

    add("content-get-post", events=get_events,
        check=responds(200, lambda b: b["slug"] == slug_of_a_post), expected="200 by slug",
        bare=bare_handler(lambda _: ({}, None), 200))

    # --- update_post: a new title and one tag replaced, on a published post
    def update_events(n: int) -> list[Event]:
        events = []
        for _ in range(n):
            k = serial[0] = serial[0] + 1
            tags = [TAGS[k % 20], TAGS[(k + 5) % 20], TAGS[(k + 11) % 20]]
            events.append(on_post("content-update-post", update_pool[k % UPDATE_POOL], author,
                                  author_token, body={
                                      "title": f"Cold starts, revised {secrets.token_hex(5)}",
                                      "tags": tags}))
        return events

    def update_bare(event: Event) -> BareWork:
        body = _body(event)
        return {"id": _path_id(event), "title": body["title"], "slug": slugify(body["title"]),
                "tags": body["tags"]}, None

    add("content-update-post", events=update_events,
        check=responds(200, lambda b: b["title"].startswith("Cold starts, revised")),
        expected="200", bare=bare_handler(update_bare, 200),
        bare_overrides=frozenset({"id", "title", "slug", "tags"}))

    # --- delete_post: a published post of its own
    def delete_events(n: int) -> list[Event]:
        return [on_post("content-delete-post", post_id, author, author_token)
                for post_id, _ in db.posts(author, n)]

    add("content-delete-post", events=delete_events, check=responds(204), expected="204",
        bare=bare_handler(by_id_no_body, 204), bare_overrides=frozenset({"id"}))

    # --- publish_post / unpublish_post: a draft / a published post of its own
    def publish_events(n: int) -> list[Event]:
        return [on_post("content-publish-post", post_id, author, author_token)
                for post_id, _ in db.posts(author, n, status="draft")]

    add("content-publish-post", events=publish_events,
        check=responds(200, lambda b: b["status"] == "published"), expected="200 published",
        bare=bare_handler(by_id, 200), bare_overrides=frozenset({"id"}))

    def unpublish_events(n: int) -> list[Event]:
        return [on_post("content-unpublish-post", post_id, author, author_token)
                for post_id, _ in db.posts(author, n)]

    add("content-unpublish-post", events=unpublish_events,
        check=responds(200, lambda b: b["status"] == "draft"), expected="200 draft",
        bare=bare_handler(by_id, 200), bare_overrides=frozenset({"id"}))

    # --- favorite_post / unfavorite_post: the reader, a post of its own per call
    def favorite_events(n: int) -> list[Event]:
        return [on_post("content-favorite-post", post_id, reader, reader_token)
                for post_id, _ in db.posts(author, n)]

    add("content-favorite-post", events=favorite_events,
        check=responds(200, lambda b: b["favorited"] and b["favoritesCount"] == 1),
        expected="200 favorited, count 1", bare=bare_handler(by_id, 200),
        bare_overrides=frozenset({"id"}))

    def unfavorite_events(n: int) -> list[Event]:
        return [on_post("content-unfavorite-post", post_id, reader, reader_token)
                for post_id, _ in db.posts(author, n, fan=reader)]

    add("content-unfavorite-post", events=unfavorite_events,
        check=responds(200, lambda b: not b["favorited"] and b["favoritesCount"] == 0),
        expected="200 not favorited, count 0", bare=bare_handler(by_id, 200),
        bare_overrides=frozenset({"id"}))

    # --- list_my_posts: the author's own posts (every status), page 1
    def my_events(n: int) -> list[Event]:
        r = route("content-list-my-posts")
        return [http_event(r, r.path, caller=author, token=author_token) for _ in range(n)]

    add("content-list-my-posts", events=my_events, check=responds(200, full_page),
        expected="200, 20 items + nextCursor", bare=bare_handler(lambda _: ({}, None), 200))

    # --- list_tags: the tags of the published posts, most used first (anonymous)
    def tags_events(n: int) -> list[Event]:
        r = route("content-list-tags")
        return [http_event(r, r.path) for _ in range(n)]

    add("content-list-tags", events=tags_events,
        check=responds(200, lambda b: len(b["items"]) == 20), expected="200, 20 tags",
        bare=bare_handler(lambda _: ({}, None), 200))

    # --- get_feed: the reader follows the 10 corpus authors
    def feed_events(n: int) -> list[Event]:
        r = route("content-get-feed")
        return [http_event(r, r.path, caller=reader, token=reader_token) for _ in range(n)]

    add("content-get-feed", events=feed_events, check=responds(200, full_page),
        expected="200, 20 items + nextCursor", bare=bare_handler(lambda _: ({}, None), 200))
