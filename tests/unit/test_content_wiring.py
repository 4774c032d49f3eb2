"""The content domain's part of the wiring: its routes as the issue lists them, who may
publish events, the scheduled publisher, the maintenance function and the post events."""

from __future__ import annotations

import importlib

import wiring

CONTENT = [r for r in wiring.ROUTES if r.domain == "content"]
EXPECTED = {
    ("POST", "/posts"): "required",
    ("GET", "/posts"): "optional",
    ("GET", "/posts/{id}"): "optional",
    ("PATCH", "/posts/{id}"): "required",
    ("DELETE", "/posts/{id}"): "required",
    ("POST", "/posts/{id}/publish"): "required",
    ("POST", "/posts/{id}/unpublish"): "required",
    ("GET", "/users/me/posts"): "required",
    ("GET", "/tags"): "optional",
    ("POST", "/posts/{id}/favorite"): "required",
    ("DELETE", "/posts/{id}/favorite"): "required",
    ("GET", "/feed"): "required",
}
# The routes that change posts announce it: they, and only they, may publish events.
ANNOUNCING = {
    "content-create-post",
    "content-update-post",
    "content-delete-post",
    "content-publish-post",
    "content-unpublish-post",
}


def test_content_routes_are_the_issues() -> None:
    declared = {(r.method, r.path.removeprefix(wiring.API_PREFIX)): r.auth for r in CONTENT}
    assert declared == EXPECTED
    assert all(r.tags == ("content",) and r.handler.startswith("content.") for r in CONTENT)


def test_only_the_routes_that_change_posts_may_publish_events() -> None:
    for route in CONTENT:
        assert wiring.Access.DATABASE in route.access
        assert (wiring.Access.EVENTS in route.access) == (route.name in ANNOUNCING), route.name
        assert wiring.Access.SIGNING_KEY not in route.access


def test_the_scheduled_publisher_and_the_maintenance_function() -> None:
    (publisher,) = [f for f in wiring.SCHEDULED if f.name == "content-publish-scheduled"]
    assert isinstance(publisher, wiring.Scheduled)
    assert publisher.access == wiring.DB_AND_EVENTS and publisher.schedule_minutes == 1
    module = importlib.import_module(publisher.module)
    assert callable(module.handler)
    (maintenance,) = [f for f in wiring.MAINTENANCE if f.name == "content-maintenance"]
    assert maintenance.handler == "content.jobs.maintenance.handler"
    assert "content" in wiring.DATABASE_DOMAINS
    assert "content-outbox-relay" in {f.name for f in wiring.SCHEDULED}


def test_the_post_events_are_published_by_content() -> None:
    posts = {t: d for t, d in wiring.EVENT_TYPES.items() if t.startswith("post.")}
    assert posts == {
        f"post.{verb}": "content"
        for verb in ("created", "updated", "published", "unpublished", "deleted")
    }
