"""The two database users of each domain, and what each may do.

- ``<domain>_owner`` owns the domain's database, its schema and every object in it, and
  runs the migrations (DDL). Only the maintenance function connects as it.
- ``<domain>_app`` is what every other function connects as: DML on the domain's tables,
  USAGE on its sequences, CONNECT on its own database, nothing else (no CREATE, no TEMP,
  no DDL, no other database).

Creating roles needs a role that may create roles: the embedded server's superuser
locally, the RDS master user on AWS (read from its secret by the maintenance function,
and only when something here must change: see inkwell.migrations.migrate).
`provision` does that part; `grant` is run by the migrations as the owner, after every
migration, so new tables get the same rights (default privileges do the same for tables
created later by the owner).

Session settings live on the users, not on connections (which must hold no session state
to work through a transaction pooler): a short statement timeout for the application, a
long one for migrations, UTC everywhere.
"""

from __future__ import annotations

import time

import pg8000.native
from pg8000.exceptions import DatabaseError

from inkwell import env
from inkwell.db import query, sqlstate_of

APP_SETTINGS = {
    "statement_timeout": "10s",
    "idle_in_transaction_session_timeout": "30s",
    "TimeZone": "UTC",
}
OWNER_SETTINGS = {
    "statement_timeout": "15min",
    "lock_timeout": "1min",
    "TimeZone": "UTC",
}
# Raised when two provisioners race on the same catalog rows (tests run several at once).
_RACE_SQLSTATES = ("23505", "42710", "XX000", "40001", "40P01")


def ident(name: str) -> str:
    return pg8000.native.identifier(name)


def settings_of(conn: pg8000.native.Connection, role: str) -> dict[str, str]:
    """The role's own defaults (``ALTER ROLE ... SET``), for every database."""
    rows = query(
        conn,
        "SELECT unnest(s.setconfig) FROM pg_db_role_setting s"
        " JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = :role AND s.setdatabase = 0",
        role=role,
    )
    found: dict[str, str] = {}
    for (item,) in rows:
        name, _, value = str(item).partition("=")
        found[name.lower()] = value
    return found


def _wanted(settings: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in settings.items()}


def up_to_date(conn: pg8000.native.Connection, domain: str) -> bool:
    """Whether the users exist with their settings and the owner owns the database
    (readable by any user: the maintenance function asks as the owner)."""
    owner, app = env.owner_user(domain), env.app_user(domain)
    roles = {
        r[0]
        for r in query(
            conn, "SELECT rolname FROM pg_roles WHERE rolname IN (:o, :a)", o=owner, a=app
        )
    }
    if roles != {owner, app}:
        return False
    if settings_of(conn, app) != _wanted(APP_SETTINGS):
        return False
    if settings_of(conn, owner) != _wanted(OWNER_SETTINGS):
        return False
    (db_owner,) = query(
        conn, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
    )[0]
    return bool(db_owner == owner)


def provision(admin: pg8000.native.Connection, domain: str, password: str | None = None) -> None:
    """Create or update the domain's users, make the owner own the database (connected
    to) and everything in its public schema. `admin` may create roles. `password` is set
    on both users (local servers with password authentication only; on AWS they log in
    with IAM tokens)."""
    for attempt in range(1, 6):
        query(admin, "BEGIN")
        try:
            _provision(admin, domain, password)
            query(admin, "COMMIT")
            return
        except DatabaseError as exc:
            query(admin, "ROLLBACK")
            if sqlstate_of(exc) not in _RACE_SQLSTATES or attempt == 5:
                raise
            time.sleep(0.05 * attempt)


def _provision(admin: pg8000.native.Connection, domain: str, password: str | None) -> None:
    owner, app = env.owner_user(domain), env.app_user(domain)
    # On RDS, IAM authentication is granted through this role; locally it does not exist.
    rds_iam = bool(query(admin, "SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'"))
    for role, settings in ((owner, OWNER_SETTINGS), (app, APP_SETTINGS)):
        exists = query(admin, "SELECT 1 FROM pg_roles WHERE rolname = :r", r=role)
        if not exists:
            query(admin, f"CREATE ROLE {ident(role)} LOGIN")
        if password is not None:
            query(admin, f"ALTER ROLE {ident(role)} PASSWORD {pg8000.native.literal(password)}")
        if rds_iam:
            query(admin, f"GRANT rds_iam TO {ident(role)}")
        current = settings_of(admin, role)
        for name, value in settings.items():
            if current.get(name.lower()) != value:
                literal = pg8000.native.literal(value)
                query(admin, f"ALTER ROLE {ident(role)} SET {name} = {literal}")
    (is_super,) = query(admin, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[0]
    if not is_super:
        # RDS's master user is not a superuser: giving objects to the owner needs membership.
        query(admin, f"GRANT {ident(owner)} TO CURRENT_USER")
    (database, db_owner) = query(
        admin,
        "SELECT current_database(), pg_get_userbyid(datdba) FROM pg_database"
        " WHERE datname = current_database()",
    )[0]
    if db_owner != owner:
        query(admin, f"ALTER DATABASE {ident(database)} OWNER TO {ident(owner)}")
    query(admin, f"ALTER SCHEMA public OWNER TO {ident(owner)}")
    # Objects created before the owner existed (by the master user) become the owner's.
    others = query(
        admin,
        "SELECT c.relkind, c.relname FROM pg_class c"
        " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r','p','v','m','S')"
        " AND pg_get_userbyid(c.relowner) <> :owner"
        " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid"
        "  AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))",
        owner=owner,
    )
    kinds = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}
    for kind, name in others:
        query(admin, f"ALTER {kinds[kind]} public.{ident(name)} OWNER TO {ident(owner)}")
    functions = query(
        admin,
        "SELECT p.oid::regprocedure::text FROM pg_proc p"
        " WHERE p.pronamespace = 'public'::regnamespace AND pg_get_userbyid(p.proowner) <> :o",
        o=owner,
    )
    for (signature,) in functions:
        query(admin, f"ALTER FUNCTION {signature} OWNER TO {ident(owner)}")


def grant(conn: pg8000.native.Connection, domain: str) -> None:
    """The application user's rights on the database `conn` is connected to, as its owner
    (inside the caller's transaction)."""
    app, owner = ident(env.app_user(domain)), ident(env.owner_user(domain))
    (database,) = query(conn, "SELECT current_database()")[0]
    for statement in (
        f"REVOKE ALL ON DATABASE {ident(database)} FROM PUBLIC",
        f"GRANT CONNECT ON DATABASE {ident(database)} TO {app}",
        "REVOKE ALL ON SCHEMA public FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA public TO {app}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {app}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}",
        f"REVOKE ALL ON schema_migrations FROM {app}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {app}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public"
        f" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public"
        f" GRANT USAGE ON SEQUENCES TO {app}",
    ):
        query(conn, statement)
