"""The lists are served by their indexes: the plans PostgreSQL chooses for the repository's
own SQL over a few thousand published posts (functions/content/QUERY_PLANS.md shows them).

The statements are the repository's, recorded as it issues them and then run with
EXPLAIN (ANALYZE) on the real database with the same parameters: a page must be read from
an index in its order and stop at the page's end (no sort of the whole table; a deep page
reads as few rows as the first one).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from content import repository
from inkwell.db import Row, database
from tests.integration.content_support import content_sql, follow_directly, seed_published

LIMIT = 21  # a page of 20, plus one to know whether there is a next page
AUTHORS = 1000
FOLLOWED = 20


class Recorder:
    """Stands in for the session: records the statement the repository sends."""

    def __init__(self) -> None:
        self.sql = ""
        self.params: dict[str, Any] = {}

    def rows(self, sql: str, **params: Any) -> list[Row]:
        self.sql, self.params = sql, params
        return []

    def row(self, sql: str, **params: Any) -> Row | None:
        self.rows(sql, **params)
        return None


def plan_of(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The executed plan of the statement `call` (a repository function) issues."""
    recorder = Recorder()
    call(recorder, *args, **kwargs)
    with database("content").reader() as s:
        (row,) = s.rows(
            "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF, FORMAT JSON) " + recorder.sql,
            **recorder.params,
        )
    plan = row["QUERY PLAN"]
    plan = plan[0] if isinstance(plan, list) else plan
    assert isinstance(plan, dict)
    return dict(plan["Plan"])


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)


def scans_of(plan: dict[str, Any], relation: str) -> list[dict[str, Any]]:
    return [n for n in nodes(plan) if n.get("Relation Name") == relation]


def index_scans(plan: dict[str, Any], index: str) -> list[dict[str, Any]]:
    return [n for n in nodes(plan) if n.get("Index Name") == index]


def assert_read_in_index_order(plan: dict[str, Any], relation: str, index: str) -> None:
    """`relation` is read only through `index`, in its order (an index scan, not a bitmap),
    nothing is sorted, and the scan stops at the end of the page."""
    scans = scans_of(plan, relation)
    assert scans, f"{relation} is not read"
    for scan in scans:
        assert scan["Node Type"] in ("Index Scan", "Index Only Scan"), scan["Node Type"]
        assert scan["Index Name"] == index, scan["Index Name"]
        assert scan["Actual Rows"] * scan["Actual Loops"] <= LIMIT
    assert not [n for n in nodes(plan) if n["Node Type"] == "Sort"], "a sort"


@pytest.fixture
def seeded(clean_databases: dict[str, str]) -> dict[str, Any]:
    """1,000 authors; 3,000 published posts spread over them and 2,000 of one prolific
    author; 2,000 drafts; 20 tags; a reader following 20 authors (the prolific one too)."""
    authors = [str(uuid.uuid4()) for _ in range(AUTHORS)]
    content_sql(
        "INSERT INTO authors (user_id, username, version)"
        " SELECT a, 'user' || (i - 1), now()"
        " FROM unnest(CAST(:authors AS uuid[])) WITH ORDINALITY AS t(a, i)",
        authors=authors,
    )
    prolific = authors[7]
    spread = seed_published(authors, 3000, prefix="spread", tag_count=20)
    seed_published([prolific], 2000, prefix="prolific", tag_count=20, minutes_ago=30)
    content_sql(
        "INSERT INTO posts (slug, title, author_id)"
        " SELECT 'draft-' || i, 'A draft', (CAST(:authors AS uuid[]))[1 + i % 1000]"
        " FROM generate_series(1, 2000) AS i",
        authors=authors,
    )
    reader = str(uuid.uuid4())
    for author in [prolific, *authors[100 : 100 + FOLLOWED - 1]]:
        follow_directly(reader, author)
    content_sql("VACUUM ANALYZE")
    oldest = min(spread, key=lambda r: (r["published_at"], r["id"]))
    middle = sorted(spread, key=lambda r: (r["published_at"], r["id"]))[1500]
    return {
        "authors": authors,
        "prolific": prolific,
        "reader": reader,
        "deep": (middle["published_at"], str(middle["id"])),
        "oldest": (oldest["published_at"], str(oldest["id"])),
    }


def test_list_plans_read_their_index_in_order(seeded: dict[str, Any]) -> None:
    f = repository.PublishedFilter
    deep = seeded["deep"]
    viewer = seeded["reader"]
    for after in (None, deep):
        plan = plan_of(repository.list_published, f(), viewer=viewer, limit=LIMIT, after=after)
        assert_read_in_index_order(plan, "posts", "posts_published")

        # A tag's page is a range of published_tags' primary key, read backwards.
        plan = plan_of(
            repository.list_published, f(tag="t3"), viewer=None, limit=LIMIT, after=after
        )
        assert_read_in_index_order(plan, "published_tags", "published_tags_pkey")
        (tags,) = scans_of(plan, "published_tags")
        assert tags["Scan Direction"] == "Backward"
        assert {n["Index Name"] for n in scans_of(plan, "posts")} == {"posts_pkey"}

        # An author's page: the username by its index, then their posts in index order.
        plan = plan_of(
            repository.list_published, f(author="USER7"), viewer=None, limit=LIMIT, after=after
        )
        assert index_scans(plan, "authors_by_username")
        assert [
            n for n in scans_of(plan, "posts") if n.get("Index Name") == "posts_published_by_author"
        ]
        assert_read_in_index_order(plan, "posts", "posts_published_by_author")

        # One's own posts, every status.
        plan = plan_of(
            repository.list_by_author, seeded["prolific"], status=None, limit=LIMIT, after=after
        )
        assert_read_in_index_order(plan, "posts", "posts_by_author")


def rows_read(plan: dict[str, Any], relation: str) -> int:
    return sum(n["Actual Rows"] * n["Actual Loops"] for n in scans_of(plan, relation))


def test_a_deep_page_reads_no_more_rows_than_the_first(seeded: dict[str, Any]) -> None:
    f = repository.PublishedFilter
    for criteria, relation in (
        (f(), "posts"),
        (f(tag="t3"), "published_tags"),
        (f(author="user7"), "posts"),
    ):
        first = plan_of(repository.list_published, criteria, viewer=None, limit=LIMIT, after=None)
        deep = plan_of(
            repository.list_published, criteria, viewer=None, limit=LIMIT, after=seeded["deep"]
        )
        assert first["Actual Rows"] == deep["Actual Rows"] == LIMIT, criteria
        assert rows_read(first, relation) == rows_read(deep, relation) == LIMIT, criteria


def test_the_feed_merges_a_bounded_page_per_followed_author(seeded: dict[str, Any]) -> None:
    for after in (None, seeded["deep"]):
        plan = plan_of(repository.list_feed, seeded["reader"], limit=LIMIT, after=after)
        posts = scans_of(plan, "posts")
        assert posts and {n["Index Name"] for n in posts} == {"posts_published_by_author"}
        assert {n["Node Type"] for n in posts} <= {"Index Scan", "Index Only Scan"}
        # Each followed author gives at most a page, read in order: what is merged (sorted)
        # is at most FOLLOWED pages, however many posts those authors have.
        for scan in posts:
            assert scan["Actual Rows"] <= LIMIT and scan["Actual Loops"] <= FOLLOWED
        for sort in (n for n in nodes(plan) if n["Node Type"] == "Sort"):
            (source,) = sort["Plans"]
            assert source["Actual Rows"] <= FOLLOWED * LIMIT
        assert plan["Actual Rows"] == LIMIT


def test_search_uses_the_text_index_for_a_rare_word_and_slugs_their_own(
    seeded: dict[str, Any],
) -> None:
    plan = plan_of(
        repository.list_published,
        repository.PublishedFilter(q="rareword"),
        viewer=None,
        limit=LIMIT,
        after=None,
    )
    assert index_scans(plan, "posts_search")
    assert not [n for n in scans_of(plan, "posts") if n["Node Type"] == "Seq Scan"]
    # A word in every post: the newest-first index, filtered, stops at the page's end.
    plan = plan_of(
        repository.list_published,
        repository.PublishedFilter(q="body"),
        viewer=None,
        limit=LIMIT,
        after=None,
    )
    assert_read_in_index_order(plan, "posts", "posts_published")
    # A post by slug: one lookup in the unique index.
    plan = plan_of(repository.find_post, viewer=None, slug="spread-77")
    (scan,) = scans_of(plan, "posts")
    assert scan["Index Name"] == "posts_slug_key" and scan["Actual Rows"] == 1
