"""Maintenance of the users database: migrations on deploy, and the first admin.

Invoked by the deploy trigger with ``{}`` (migrate), or by an operator::

    aws lambda invoke --function-name <users-maintenance> \\
        --payload '{"action": "promote-admin", "username": "alice"}' out.json
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inkwell.errors import Problem
from inkwell.failures import DatabaseUnavailable
from inkwell.migrations import handler_for
from users import service

MIGRATIONS = Path(__file__).parent.parent / "migrations"


def promote_admin(event: dict[str, Any]) -> dict[str, Any]:
    try:
        user = service.promote_to_admin(str(event.get("username", "")))
    except Problem as problem:
        return {"error": problem.detail}
    except DatabaseUnavailable as exc:
        return {"error": str(exc)}
    return {"promoted": user.username}


handler = handler_for("users", MIGRATIONS, {"promote-admin": promote_admin})
