"""Versioned SQL migrations per domain: applied once, in order, safe under concurrency.

Files are named ``NNNN_description.sql`` in the domain's ``migrations/`` folder. Every
domain database first gets the platform's own migrations (the outbox and the consumers'
processed-event table, shipped in this layer), recorded as ``platform/NNNN_description``. Each file
runs in its own transaction together with the row that records it, so a failed migration
leaves nothing half-applied. A session-level advisory lock serialises runners: when two
start together, the second waits and then finds nothing left to do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pg8000.native

from inkwell.db import ConnectionParams
from inkwell.observability import logger

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_LOCK_KEY = 0x1A4E_3E11  # arbitrary, fixed: "inkwell migrations"
PLATFORM_DIR = Path(__file__).parent / "platform_migrations"


def pending_files(directory: Path) -> list[Path]:
    files = sorted(p for p in directory.iterdir() if p.suffix == ".sql")
    for path in files:
        if not _NAME.match(path.name):
            raise ValueError(f"migration file name {path.name!r} must look like 0001_name.sql")
    return files


def apply(conn: pg8000.native.Connection, directory: Path) -> list[str]:
    """Apply the platform's and `directory`'s migrations not applied yet, in order.

    Returns the versions applied.
    """
    files = [(f"platform/{p.stem}", p) for p in pending_files(PLATFORM_DIR)]
    files += [(p.stem, p) for p in pending_files(directory)]
    conn.run("SELECT pg_advisory_lock(:key)", key=_LOCK_KEY)
    try:
        conn.run(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.run("SELECT version FROM schema_migrations")}
        applied: list[str] = []
        for version, path in files:
            if version in done:
                continue
            conn.run("BEGIN")
            try:
                conn.run(path.read_text(encoding="utf-8"))
                conn.run("INSERT INTO schema_migrations (version) VALUES (:v)", v=version)
                conn.run("COMMIT")
            except Exception:
                conn.run("ROLLBACK")
                raise
            applied.append(version)
        return applied
    finally:
        conn.run("SELECT pg_advisory_unlock(:key)", key=_LOCK_KEY)


Action = Callable[[dict[str, Any]], dict[str, Any]]


def migrate(domain: str, directory: Path) -> list[str]:
    """Apply `domain`'s pending migrations on a connection of its own; the versions applied."""
    conn = ConnectionParams.for_domain(domain).connect(f"inkwell-{domain}-migrations")
    try:
        return apply(conn, directory)
    finally:
        conn.close()


def handler_for(
    domain: str, directory: Path, actions: Mapping[str, Action] | None = None
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda handler of a domain's maintenance function.

    ``{}`` or ``{"action": "migrate"}`` applies the migrations (the deploy trigger sends
    ``{}``); any other action is looked up in `actions` and called with the event.
    """
    extra = dict(actions or {})

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        action = (event or {}).get("action", "migrate")
        if action == "migrate":
            applied = migrate(domain, directory)
            logger.info("migrations applied", extra={"domain": domain, "applied": applied})
            return {"applied": applied}
        if action in extra:
            return extra[action](event)
        known = " or ".join(repr(name) for name in ["migrate", *extra])
        return {"error": f"unknown action {action!r}; use {known}"}

    return handler
