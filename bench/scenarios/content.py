"""The content routes' scenarios: route name -> Scenario.

Seeded: a public corpus (10 authors x 20 published posts, 3 of 20 tags each, with their
`published_tags` rows) that the reader follows; the author's own 20 published posts and 10
drafts; and per call of a write, the post that call needs in the state its operation
changes (a draft to publish, a published post to unpublish, delete or favorite, a post the
reader favorited to unfavorite). Updates cycle over 20 published posts, replacing a tag.
"""

from __future__ import annotations

import secrets
from typing import Any

from bench.scenarios import Scenario, full_page
from bench.world import Event, User, World, http_event
from wiring import route_by_name as route

TAGS = [
    "serverless",
    "python",
    "aws",
    "postgres",
    "lambda",
    "devops",
    "testing",
    "design",
    "career",
    "security",
    "rust",
    "go",
    "databases",
    "frontend",
    "cloud",
    "data",
    "architecture",
    "performance",
    "tutorial",
    "opinion",
]
SUMMARY = "What a cold start costs, measured, and what to do about it."
BODY = (
    "Serverless functions start cold when no execution environment is ready for them. "
    "The runtime boots, the code is imported, and only then does the first request run. "
    "This post measures each part, shows where the milliseconds go, and keeps the changes "
    "that paid for themselves. "
) * 6  # ~1.6 KB: a short post

# Posts as the repository writes them: published ones have published_at, a locked slug and
# one published_tags row per tag; with :fan, favorited by that user (count 1).
INSERT_POSTS = (
    "WITH new AS ("
    " INSERT INTO posts (slug, title, summary, body, tags, status, author_id, published_at,"
    "  slug_locked, favorites_count, created_at, updated_at)"
    " SELECT CAST(:prefix AS text) || '-' || i, 'Bench post ' || CAST(:prefix AS text) || i,"
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


def posts(
    w: World,
    author: User,
    n: int,
    status: str = "published",
    fan: User | None = None,
    step_s: float = 1.0,
) -> list[tuple[str, str]]:
    """`n` posts of `author`, newest first: (id, slug)."""
    rows = w.sql(
        "content",
        INSERT_POSTS,
        prefix=w.names("post", 1)[0],
        summary=SUMMARY,
        body=BODY,
        tags=TAGS,
        status=status,
        author=author.id,
        fan=fan.id if fan else None,
        n=n,
        step=step_s,
    )
    return [(str(r[0]), str(r[1])) for r in rows]


def corpus(w: World) -> dict[str, Any]:
    """The shared content: the corpus the reader follows, the author's own posts."""

    def seed() -> dict[str, Any]:
        authors, reader, author = w.users("corpus", 10), w.actor("reader"), w.actor("author")
        for i, a in enumerate(authors):
            posts(w, a, 20, step_s=60.0 * (1 + i / 10))
        w.sql(
            "content",
            "INSERT INTO follows (follower_id, author_id, following, changed_at)"
            " SELECT CAST(:f AS uuid), a, true, now() FROM unnest(CAST(:a AS uuid[])) a",
            f=reader.id,
            a=[a.id for a in authors],
        )
        posts(w, author, 20)
        posts(w, author, 10, status="draft")
        return {
            "slug": posts(w, authors[0], 1)[0][1],
            "pool": [post_id for post_id, _ in posts(w, author, 20)],
        }

    return w.once("content-corpus", seed)


def as_caller(name: str, who: str) -> Any:
    """Calls of `name` by the author or the reader, with no input of their own."""

    def events(w: World, n: int) -> list[Event]:
        corpus(w)
        caller = w.actor(who)
        return [http_event(route(name), caller=caller, token=w.token(caller)) for _ in range(n)]

    return events


def on_own_post(
    name: str, status: str = "published", by: str = "author", favorited: bool = False
) -> Any:
    """Each call on a post of its own (the author's) in `status`, by the author or reader."""

    def events(w: World, n: int) -> list[Event]:
        caller = w.actor(by)
        fan = w.actor("reader") if favorited else None
        return [
            http_event(route(name), target=post_id, caller=caller, token=w.token(caller))
            for post_id, _ in posts(w, w.actor("author"), n, status, fan)
        ]

    return events


def create(w: World, n: int) -> list[Event]:
    author = w.actor("author")
    return [
        http_event(
            route("content-create-post"),
            caller=author,
            token=w.token(author),
            body={
                "title": f"Measuring cold starts, take {secrets.token_hex(5)}",
                "summary": SUMMARY,
                "body": BODY,
                "tags": ["serverless", "python", "aws"],
            },
        )
        for _ in range(n)
    ]


def get_by_slug(w: World, n: int) -> list[Event]:
    slug, reader = corpus(w)["slug"], w.actor("reader")
    return [
        http_event(route("content-get-post"), target=slug, caller=reader, token=w.token(reader))
        for _ in range(n)
    ]


def update(w: World, n: int) -> list[Event]:
    pool, author = corpus(w)["pool"], w.actor("author")
    return [
        http_event(
            route("content-update-post"),
            target=pool[k % len(pool)],
            caller=author,
            token=w.token(author),
            body={
                "title": f"Cold starts, revised {secrets.token_hex(5)}",
                "tags": [TAGS[k % 20], TAGS[(k + 5) % 20], TAGS[(k + 11) % 20]],
            },
        )
        for k in (secrets.randbelow(10**6) for _ in range(n))
    ]


def tags(w: World, n: int) -> list[Event]:
    corpus(w)
    return [http_event(route("content-list-tags")) for _ in range(n)]


SCENARIOS: dict[str, Scenario] = {
    "content-create-post": Scenario(create, 201, 4, lambda b: b["status"] == "draft"),
    "content-list-posts": Scenario(as_caller("content-list-posts", "reader"), 200, 1, full_page),
    "content-get-post": Scenario(get_by_slug, 200, 1),
    "content-update-post": Scenario(update, 200, 4),
    "content-delete-post": Scenario(on_own_post("content-delete-post"), 204, 4),
    "content-publish-post": Scenario(
        on_own_post("content-publish-post", "draft"), 200, 4, lambda b: b["status"] == "published"
    ),
    "content-unpublish-post": Scenario(
        on_own_post("content-unpublish-post"), 200, 4, lambda b: b["status"] == "draft"
    ),
    "content-favorite-post": Scenario(
        on_own_post("content-favorite-post", by="reader"), 200, 2, lambda b: b["favorited"]
    ),
    "content-unfavorite-post": Scenario(
        on_own_post("content-unfavorite-post", by="reader", favorited=True),
        200,
        2,
        lambda b: not b["favorited"],
    ),
    "content-list-my-posts": Scenario(
        as_caller("content-list-my-posts", "author"), 200, 1, full_page
    ),
    "content-list-tags": Scenario(tags, 200, 1, lambda b: len(b["items"]) == 20),
    "content-get-feed": Scenario(as_caller("content-get-feed", "reader"), 200, 1, full_page),
}
