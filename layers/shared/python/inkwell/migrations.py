"""Versioned SQL migrations per domain: applied once, in order, safe under concurrency.

Files are named ``NNNN_description.sql`` in the domain's ``migrations/`` folder. Every
domain database first gets the platform's own migrations (the outbox and the consumers'
processed-event table, shipped in this layer), recorded as ``platform/NNNN_description``.
Each file runs in its own transaction together with the row that records it, so a failed
migration leaves nothing half-applied. Every transaction starts by taking a
transaction-scoped advisory lock (released by its COMMIT or ROLLBACK, never left on a
connection) and then re-reads what is applied: when two runners start together, the second
waits, then finds nothing left to do. After the files, the application user's rights are
granted again (inkwell.db_users.grant), so every table has them.

On deploy, the maintenance function runs `migrate` as the domain's owner. When the owner
cannot log in yet (first deploy) or the users are not as inkwell.db_users wants them, and
the RDS master secret is configured, the users are provisioned with the master user first:
the only use of the master credential.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pg8000.native
from pg8000.exceptions import DatabaseError, InterfaceError

from inkwell import db_users, env
from inkwell.db import ConnectionParams, query, sqlstate_of
from inkwell.observability import logger, with_lambda_context

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_LOCK_KEY = 0x1A4E_3E11  # arbitrary, fixed: "inkwell migrations"
PLATFORM_DIR = Path(__file__).parent / "platform_migrations"
CONNECT_ATTEMPTS = 4
# Login refused: the user does not exist yet, or may not log in this way.
_AUTH_SQLSTATES = ("28000", "28P01")


class MigrationFailed(RuntimeError):
    """The migrations could not run; the message says why (the deploy fails with it)."""


def pending_files(directory: Path) -> list[Path]:
    files = sorted(p for p in directory.iterdir() if p.suffix == ".sql")
    for path in files:
        if not _NAME.match(path.name):
            raise ValueError(f"migration file name {path.name!r} must look like 0001_name.sql")
    return files


def _begin_locked(conn: pg8000.native.Connection) -> None:
    query(conn, "BEGIN")
    query(conn, "SELECT pg_advisory_xact_lock(:key)", key=_LOCK_KEY)


def apply(
    conn: pg8000.native.Connection, directory: Path, grant_to: str | None = None
) -> list[str]:
    """Apply the platform's and `directory`'s migrations not applied yet, in order; then,
    when `grant_to` names a domain, grant its application user its rights (`conn` must
    then be the database's owner). Returns the versions applied."""
    files = [(f"platform/{p.stem}", p) for p in pending_files(PLATFORM_DIR)]
    files += [(p.stem, p) for p in pending_files(directory)]
    _begin_locked(conn)
    try:
        query(
            conn,
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY,"
            " applied_at timestamptz NOT NULL DEFAULT now())",
        )
        done = {row[0] for row in query(conn, "SELECT version FROM schema_migrations")}
        query(conn, "COMMIT")
    except BaseException:
        query(conn, "ROLLBACK")
        raise
    applied: list[str] = []
    for version, path in files:
        if version in done:
            continue
        _begin_locked(conn)
        try:
            # Another runner may have applied it while this one waited for the lock.
            if query(conn, "SELECT 1 FROM schema_migrations WHERE version = :v", v=version):
                query(conn, "ROLLBACK")
                continue
            query(conn, path.read_text(encoding="utf-8"))
            query(conn, "INSERT INTO schema_migrations (version) VALUES (:v)", v=version)
            query(conn, "COMMIT")
        except BaseException:
            query(conn, "ROLLBACK")
            raise
        applied.append(version)
    if grant_to is not None:
        _begin_locked(conn)
        try:
            db_users.grant(conn, grant_to)
            query(conn, "COMMIT")
        except BaseException:
            query(conn, "ROLLBACK")
            raise
    return applied


def connect(params: ConnectionParams, name: str) -> pg8000.native.Connection:
    """Connect, retrying a few times with backoff while the server is unreachable or
    starting (a deploy may run while the instance or the network is still coming up)."""
    delay = 1.0
    for attempt in range(1, CONNECT_ATTEMPTS + 1):
        try:
            return params.connect(name)
        except (InterfaceError, OSError) as exc:
            cause = f" ({exc.__cause__})" if exc.__cause__ else ""
            reason = f"{type(exc).__name__}: {exc}{cause}"
        except DatabaseError as exc:
            if sqlstate_of(exc) != "57P03":  # "the database system is starting up"
                raise
            reason = str(exc)
        if attempt == CONNECT_ATTEMPTS:
            raise MigrationFailed(
                f"cannot connect to {params.host}:{params.port}/{params.database} as"
                f" {params.user} after {attempt} attempts: {reason}"
            )
        logger.warning(
            "database not reachable yet, retrying", extra={"attempt": attempt, "reason": reason}
        )
        time.sleep(delay)
        delay *= 2
    raise AssertionError("unreachable")


def master_params(domain: str, owner: ConnectionParams) -> ConnectionParams | None:
    """The RDS master user's connection to the domain's database (AWS, maintenance only)."""
    arn = os.environ.get(env.db_master_secret_arn(domain))
    if not arn:
        return None
    from inkwell import secrets

    secret = secrets.secret_json(arn)
    # The owner's connection as the master user: same instance, same TLS check (the RDS CA
    # bundle the maintenance function is given).
    return owner.as_user(str(secret["username"]), str(secret["password"]))


def _provision_with_master(domain: str, owner: ConnectionParams, why: str) -> None:
    master = master_params(domain, owner)
    if master is None:
        raise MigrationFailed(
            f"the {domain} database users must be provisioned ({why}) and"
            f" {env.db_master_secret_arn(domain)} is not set"
        )
    logger.info("provisioning the database users", extra={"domain": domain, "why": why})
    conn = connect(master, f"inkwell-{domain}-provision")
    try:
        db_users.provision(conn, domain)
    finally:
        conn.close()


def migrate(domain: str, directory: Path) -> list[str]:
    """Apply `domain`'s pending migrations as its owner; the versions applied."""
    params = ConnectionParams.for_domain(domain, maintenance=True)
    name = f"inkwell-{domain}-migrations"
    try:
        conn = connect(params, name)
    except DatabaseError as exc:
        if sqlstate_of(exc) not in _AUTH_SQLSTATES:
            raise MigrationFailed(f"cannot connect as {params.user}: {exc}") from exc
        _provision_with_master(domain, params, f"{params.user} cannot log in")
        conn = connect(params, name)
    current: pg8000.native.Connection | None = conn
    try:
        if not db_users.up_to_date(conn, domain):
            conn.close()
            current = None
            _provision_with_master(domain, params, "users or their settings out of date")
            current = connect(params, name)
        return apply(current, directory, grant_to=domain)
    except DatabaseError as exc:
        raise MigrationFailed(f"migrating the {domain} database failed: {exc}") from exc
    finally:
        if current is not None:
            current.close()


Action = Callable[[dict[str, Any]], dict[str, Any]]


def handler_for(
    domain: str, directory: Path, actions: Mapping[str, Action] | None = None
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda handler of a domain's maintenance function.

    ``{}`` or ``{"action": "migrate"}`` applies the migrations (the deploy trigger sends
    ``{}``); any other action is looked up in `actions` and called with the event. A
    failed migration raises, so the deploy fails with its reason.
    """
    extra = dict(actions or {})

    @with_lambda_context
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
