"""Maintenance of the content database: applies its migrations on deploy.

Invoked by the deploy trigger with ``{}`` (or ``{"action": "migrate"}``).
"""

from __future__ import annotations

from pathlib import Path

from inkwell.migrations import handler_for

MIGRATIONS = Path(__file__).parent.parent / "migrations"

handler = handler_for("content", MIGRATIONS)
