"""Maintenance of the users database: migrations on deploy, and the first admin.

Invoked by the deploy trigger with ``{}`` (migrate), or by an operator::

    aws lambda invoke --function-name <users-maintenance> \\
        --payload '{"action": "promote-admin", "username": "alice"}' out.json
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inkwell.db import ConnectionParams
from inkwell.errors import Problem
from inkwell.migrations import apply
from inkwell.observability import logger
from users import service

MIGRATIONS = Path(__file__).parent / "migrations"


def migrate() -> list[str]:
    conn = ConnectionParams.for_domain("users").connect("inkwell-users-migrations")
    try:
        return apply(conn, MIGRATIONS)
    finally:
        conn.close()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    action = (event or {}).get("action", "migrate")
    if action == "migrate":
        applied = migrate()
        logger.info("migrations applied", extra={"applied": applied})
        return {"applied": applied}
    if action == "promote-admin":
        try:
            user = service.promote_to_admin(str(event.get("username", "")))
        except Problem as problem:
            return {"error": problem.detail}
        return {"promoted": user.username}
    return {"error": f"unknown action {action!r}; use 'migrate' or 'promote-admin'"}
