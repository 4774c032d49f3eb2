"""content-maintenance: the deploy trigger's migration of the content database (the shared
inkwell.migrations handler, as users-maintenance uses it)."""

from __future__ import annotations

import pytest

import wiring
from content.jobs import maintenance
from inkwell.db import ConnectionParams
from local.dispatch import context_for
from tests.integration.support import provisioned

FUNCTION = next(f for f in wiring.MAINTENANCE if f.name == "content-maintenance")
CONTEXT = context_for(FUNCTION)


def test_maintenance_applies_the_content_migrations_once(
    monkeypatch: pytest.MonkeyPatch, fresh_database_url: str
) -> None:
    monkeypatch.setenv("INKWELL_CONTENT_DB_URL", provisioned(fresh_database_url, "content"))
    first = maintenance.handler({}, CONTEXT)
    assert first["applied"][:3] == [
        "platform/0001_outbox",
        "0001_content",
        "0002_authors_by_username",
    ]
    assert "0003_authors_roles" in first["applied"]
    assert maintenance.handler({"action": "migrate"}, CONTEXT) == {"applied": []}
    conn = ConnectionParams.from_url(fresh_database_url).connect()
    try:
        tables = {
            r[0] for r in conn.run("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        assert {"posts", "published_tags", "favorites", "authors", "follows", "outbox"} <= tables
        # 0002's planner setting applies to the sessions opened after it.
        assert conn.run("SHOW random_page_cost") == [["1.1"]]
    finally:
        conn.close()


def test_an_unknown_action_is_refused_without_touching_anything(
    monkeypatch: pytest.MonkeyPatch, fresh_database_url: str
) -> None:
    monkeypatch.setenv("INKWELL_CONTENT_DB_URL", fresh_database_url)
    assert maintenance.handler({"action": "promote-admin"}, CONTEXT) == {
        "error": "unknown action 'promote-admin'; use 'migrate'"
    }
    conn = ConnectionParams.from_url(fresh_database_url).connect()
    try:
        assert conn.run("SELECT to_regclass('posts')") == [[None]]
    finally:
        conn.close()
