"""Helpers of the content tests: the API paths, writing and publishing posts through the
API, and the content database as it is (read and, for set-ups the API cannot make, written
directly)."""

from __future__ import annotations

import os
from typing import Any

import wiring
from local import event_schemas
from local.dispatch import Response
from tests.conftest import Api
from tests.integration.support import Account, inspector

POSTS = f"{wiring.API_PREFIX}/posts"
MY_POSTS = f"{wiring.API_PREFIX}/users/me/posts"
TAGS = f"{wiring.API_PREFIX}/tags"
FEED = f"{wiring.API_PREFIX}/feed"

POST_FIELDS = {
    "id",
    "slug",
    "title",
    "summary",
    "body",
    "tags",
    "status",
    "author",
    "publishedAt",
    "publishAt",
    "createdAt",
    "updatedAt",
    "favoritesCount",
    "favorited",
}
SUMMARY_FIELDS = POST_FIELDS - {"body"}
AUTHOR_FIELDS = {"id", "username", "firstName", "lastName"}


def post_path(post_id: str, action: str = "") -> str:
    return f"{POSTS}/{post_id}" + (f"/{action}" if action else "")


def content_sql(query: str, **params: Any) -> list[dict[str, Any]]:
    """Run one statement on the content database, outside the code under test."""
    conn = inspector(os.environ["INKWELL_CONTENT_DB_URL"])
    rows = conn.run(query, **params) or []
    names = [c["name"] for c in conn.columns or ()]
    return [dict(zip(names, r, strict=True)) for r in rows]


def ok(response: Response, status: int = 200) -> Any:
    assert response.status == status, (response.status, response.body)
    return response.json()


def write(
    api: Api, account: Account, title: str = "Down the Rabbit Hole", **fields: Any
) -> dict[str, Any]:
    """A new draft of `account`, through the API."""
    post = ok(api.call("POST", POSTS, {"title": title, **fields}, token=account.token), 201)
    assert isinstance(post, dict)
    return post


def publish(api: Api, account: Account, post_id: str, **body: Any) -> dict[str, Any]:
    response = api.call("POST", post_path(post_id, "publish"), body or None, token=account.token)
    post = ok(response)
    assert isinstance(post, dict)
    return post


def published(
    api: Api, account: Account, title: str = "Down the Rabbit Hole", **fields: Any
) -> dict[str, Any]:
    """A new published post of `account`, through the API."""
    return publish(api, account, write(api, account, title, **fields)["id"])


def outbox(detail_type: str | None = None) -> list[dict[str, Any]]:
    """The content outbox, oldest first (optionally one type)."""
    rows = content_sql("SELECT * FROM outbox ORDER BY id")
    return [r for r in rows if detail_type is None or r["detail_type"] == detail_type]


def as_bus_event(row: dict[str, Any]) -> dict[str, Any]:
    """An outbox row as EventBridge would deliver it (for schema validation)."""
    return {
        "version": "0",
        "id": str(row["event_id"]),
        "detail-type": row["detail_type"],
        "source": row["source"],
        "account": "123456789012",
        "time": "2025-01-15T09:30:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": row["detail"],
    }


def events_since(before: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The content events written since `before` (an earlier `outbox()`), each checked
    against its schema; oldest first."""
    seen = {r["id"] for r in before}
    rows = [r for r in outbox() if r["id"] not in seen]
    for row in rows:
        event_schemas.validate(as_bus_event(row))
    return rows


def set_author(
    user_id: str,
    username: str,
    *,
    is_active: bool = True,
    first_name: str | None = None,
    last_name: str | None = None,
) -> None:
    """The authors read-model row, as the content-users consumer would keep it."""
    content_sql(
        "INSERT INTO authors (user_id, username, first_name, last_name, is_active, version)"
        " VALUES (CAST(:id AS uuid), :username, :first, :last, :active, now())"
        " ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username,"
        "  first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,"
        "  is_active = EXCLUDED.is_active, version = EXCLUDED.version",
        id=user_id,
        username=username,
        first=first_name,
        last=last_name,
        active=is_active,
    )


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


def seed_published(
    author_ids: list[str],
    n: int,
    *,
    prefix: str = "seed",
    tag_count: int = 2,
    ties: int = 1,
    step_s: float = 60.0,
    minutes_ago: int = 60,
) -> list[dict[str, Any]]:
    """`n` published posts in one statement (with their published_tags rows), authors taken
    in turn, `ties` posts sharing each published_at (and created_at), older by `step_s` each
    step, the newest `minutes_ago` minutes old. Post i has tags 'every' and 't<i % tag_count>',
    and the word 'rareword' in its body when i is a multiple of 500. Returns id,
    published_at, created_at (the same), author_id and tags of each."""
    return content_sql(
        "WITH new AS ("
        " INSERT INTO posts (slug, title, summary, body, tags, status, author_id,"
        "  published_at, slug_locked, created_at, updated_at)"
        " SELECT :prefix || '-' || i, 'Seeded post ' || i, 'summary ' || i,"
        "  'body of post ' || i || CASE WHEN i % 500 = 0 THEN ' rareword' ELSE '' END,"
        "  ARRAY['every', 't' || (i % CAST(:tag_count AS integer))], 'published',"
        "  (CAST(:authors AS uuid[]))[1 + i % CAST(:n_authors AS integer)], stamp, true,"
        "  stamp, stamp"
        " FROM generate_series(1, CAST(:n AS integer)) AS i,"
        "  LATERAL (SELECT now() - make_interval(mins => CAST(:ago AS integer))"
        "   - make_interval(secs => ((i - 1) / CAST(:ties AS integer))"
        "                            * CAST(:step AS double precision))) AS s(stamp)"
        " RETURNING id, tags, published_at, author_id"
        "), tagged AS ("
        " INSERT INTO published_tags (tag, published_at, post_id, author_id)"
        " SELECT unnest(tags), published_at, id, author_id FROM new)"
        " SELECT id, published_at, published_at AS created_at, author_id, tags FROM new",
        prefix=prefix,
        tag_count=tag_count,
        authors=author_ids,
        n_authors=len(author_ids),
        n=n,
        ties=ties,
        step=step_s,
        ago=minutes_ago,
    )


def newest_first(rows: list[dict[str, Any]], key: str = "published_at") -> list[str]:
    """The ids of `rows` in the API's order: newest first, ties by id descending."""
    return [str(r["id"]) for r in sorted(rows, key=lambda r: (r[key], r["id"]), reverse=True)]


def follow_directly(follower_id: str, author_id: str) -> None:
    """A live follows row, as the content-users consumer writes it from user.followed."""
    content_sql(
        "INSERT INTO follows (follower_id, author_id, following, changed_at)"
        " VALUES (CAST(:f AS uuid), CAST(:a AS uuid), true, now())"
        " ON CONFLICT (follower_id, author_id) DO UPDATE SET following = true",
        f=follower_id,
        a=author_id,
    )
