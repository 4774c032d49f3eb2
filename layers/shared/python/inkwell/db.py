"""PostgreSQL access for one domain, with pg8000.

One connection per execution environment (per thread, so the local platform can run
invocations side by side), opened on first use and reused across warm invocations.
A connection that broke while idle (database restart, proxy idle timeout) is re-opened
transparently on the first statement of the next unit of work; a failure in the middle of
a transaction is never retried, it rolls back and surfaces as `DatabaseUnavailable` (which
the HTTP adapter answers with a 503).

This module knows nothing of HTTP or of events. Other modules extend a unit of work
through two hooks: `on_result` sees every statement's result before its caller does, and
`Session.after_commit` runs a callback once the unit has committed (inkwell.events collects
the outbox rows a statement returned and publishes them after commit this way).

Connections hold no session state, so that they work through a transaction pooler (RDS
Proxy on AWS, PgBouncer in transaction mode): no startup parameters and no ``SET`` (the
statement timeout and time zone are defaults of the database users, set by the
migrations), and no named prepared statements. Each statement goes out as one batch of
the extended query protocol on the unnamed statement (Parse, Bind, Describe, Execute,
Sync): one network round trip, nothing left on the server afterwards (see
docs/decisions/unnamed-statements.md). The benchmark and the tests count round trips on the
wire (bench/wire.py), not in here.

Connection settings, per domain (``USERS`` shown; names in inkwell.env):
- locally: ``INKWELL_USERS_DB_URL=postgresql://user[:password]@host:port/dbname``, the
  user being the domain's application user (``users_app``); maintenance connects as the
  owner (``users_owner``) with the same URL otherwise;
- on AWS: ``INKWELL_DB_AUTH=iam``, ``INKWELL_USERS_DB_HOST`` (the RDS Proxy endpoint),
  ``INKWELL_USERS_DB_PORT``, ``INKWELL_USERS_DB_NAME`` and ``INKWELL_USERS_DB_USER``; the
  password is an IAM authentication token signed in process (inkwell.rds_iam). TLS is
  verified against the system trust store unless ``INKWELL_DB_TLS=disable``, or against
  ``INKWELL_DB_CA_BUNDLE`` only when it is set (maintenance: the RDS CAs, in the layer).
"""

from __future__ import annotations

import os
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit

import pg8000.native
from pg8000 import core
from pg8000.converters import make_params
from pg8000.exceptions import DatabaseError, InterfaceError

from inkwell import env
from inkwell.failures import DatabaseUnavailable, InvalidValue
from inkwell.settings import ConfigurationError

Row = dict[str, Any]

# Errors that mean "the connection is gone", as opposed to "the statement was wrong".
_CONNECTION_ERRORS = (InterfaceError, OSError, ssl.SSLError)

# SQLSTATE classes that mean the database (not the request) is the problem; 28 is a
# refused login (e.g. an IAM token the proxy did not accept): unavailable, never the caller's
# fault.
_UNAVAILABLE_SQLSTATES = ("08", "28", "53", "57", "58")


class IntegrityConflict(Exception):
    """A unique, foreign-key or check constraint rejected the write."""

    def __init__(self, sqlstate: str, constraint: str) -> None:
        super().__init__(f"{sqlstate} {constraint}")
        self.sqlstate = sqlstate
        self.constraint = constraint

    @property
    def is_unique_violation(self) -> bool:
        return self.sqlstate == "23505"


class SerializationConflict(Exception):
    """The database aborted the transaction because of a concurrent one (retryable)."""


@dataclass(frozen=True)
class ConnectionParams:
    user: str
    password: str | None
    host: str
    port: int
    database: str
    tls: bool
    iam: bool = False  # the password is an RDS IAM authentication token, signed per connect
    # PEM file of the CAs the server certificate must chain to; None: the system store.
    ca_file: str | None = None

    @classmethod
    def for_domain(cls, domain: str, *, maintenance: bool = False) -> ConnectionParams:
        """How the domain's functions connect; `maintenance`: how its migrations do (as the
        owner, on AWS directly to the instance)."""
        tls_setting = os.environ.get(env.DB_TLS, "")
        ca_file = os.environ.get(env.DB_CA_BUNDLE) or None
        if ca_file is not None and not os.path.isfile(ca_file):
            raise ConfigurationError(f"{env.DB_CA_BUNDLE}: no such file {ca_file!r}")
        url = os.environ.get(env.db_url(domain))
        if url:
            params = replace(cls.from_url(url, tls=tls_setting == "verify-full"), ca_file=ca_file)
            return replace(params, user=env.owner_user(domain)) if maintenance else params
        if os.environ.get(env.DB_AUTH) != env.DB_AUTH_IAM:
            raise ConfigurationError(
                f"set {env.db_url(domain)} (local) or {env.DB_AUTH}={env.DB_AUTH_IAM} with"
                f" {env.db_host(domain)} (AWS)"
            )
        host = (maintenance and os.environ.get(env.db_instance_host(domain))) or os.environ.get(
            env.db_host(domain)
        )
        if not host:
            raise ConfigurationError(f"environment variable {env.db_host(domain)} is not set")
        port = os.environ.get(env.db_port(domain)) or "5432"
        if not port.isdigit():
            raise ConfigurationError(f"{env.db_port(domain)} must be a port number, got {port!r}")
        default_user = env.owner_user(domain) if maintenance else env.app_user(domain)
        return cls(
            user=os.environ.get(env.db_user(domain)) or default_user,
            password=None,
            host=host,
            port=int(port),
            database=os.environ.get(env.db_name(domain)) or domain,
            tls=tls_setting != "disable",
            iam=True,
            ca_file=ca_file,
        )

    @classmethod
    def from_url(cls, url: str, *, tls: bool = False) -> ConnectionParams:
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
            raise ConfigurationError(
                "database URL must look like postgresql://user:password@host:port/dbname"
            )
        return cls(
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password) if parts.password else None,
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            database=parts.path.strip("/"),
            tls=tls,
        )

    def with_database(self, database: str) -> ConnectionParams:
        return replace(self, database=database)

    def as_user(self, user: str, password: str | None = None) -> ConnectionParams:
        return replace(self, user=user, password=password, iam=False)

    def secret_password(self) -> str | None:
        if not self.iam:
            return self.password
        from inkwell import rds_iam

        return rds_iam.token(self.host, self.port, self.user)

    def ssl_context(self) -> ssl.SSLContext:
        """verify-full: the certificate must chain to the CA file (only it, when given) or
        the system trust store, and name the host."""
        return ssl.create_default_context(cafile=self.ca_file)

    def connect(self, application_name: str | None = "inkwell") -> pg8000.native.Connection:
        """A new connection; `application_name` None sends no startup parameter besides
        the user and database (the functions' connections, which go through a proxy)."""
        return pg8000.native.Connection(
            user=self.user,
            password=self.secret_password(),
            host=self.host,
            port=self.port,
            database=self.database,
            # False, not None: pg8000 takes None as "try TLS first", which costs a
            # refused round trip and ~20 ms of loading the CA store on every connect.
            ssl_context=self.ssl_context() if self.tls else False,
            timeout=15,
            application_name=application_name,
        )


@lru_cache(maxsize=2048)
def _parsed(sql: str) -> tuple[str, Any]:
    """``:name`` placeholders to ``$n``, and the function that orders the values."""
    statement, make_values = pg8000.native.to_statement(sql)
    return statement, make_values


def run_unnamed(
    conn: pg8000.native.Connection, sql: str, params: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[list[Any]]]:
    """Run one statement on the unnamed prepared statement in one round trip.

    pg8000's own unnamed path syncs three times (three round trips) and, through a
    transaction pooler, the second and third messages may reach another server connection
    than the first; its named statements outlive the transaction. This sends Parse, Bind,
    Describe (portal), Execute and one Sync together, as libpq's PQexecParams does.
    Returns the columns and the rows. Built on pg8000's message methods (the version is
    pinned; tests/integration/test_db.py counts the round trips and checks the state).
    """
    statement, make_values = _parsed(sql)
    context = core.Context(statement)
    conn.send_PARSE(core.NULL_BYTE, statement, ())
    conn.send_BIND(core.NULL_BYTE, make_params(conn.py_types, make_values(params)))
    conn._send_message(core.DESCRIBE, core.PORTAL + core.NULL_BYTE)
    conn.send_EXECUTE()
    core._write(conn._sock, core.SYNC_MSG)
    core._flush(conn._sock)
    conn.handle_messages(context)
    return list(context.columns or ()), list(context.rows or ())


def query(conn: pg8000.native.Connection, sql: str, **params: Any) -> list[list[Any]]:
    """The rows of one statement on a bare connection (migrations, provisioning): the
    simple protocol without parameters, else `run_unnamed` (never pg8000's own unnamed
    path, which a transaction pooler may split across server connections)."""
    if not params:
        return list(conn.run(sql) or ())
    return run_unnamed(conn, sql, params)[1]


# Sees every statement's result (its column names and rows, which it may change) before the
# caller does; registered with `on_result`.
ResultHook = Callable[["Session", list[str], list["Row"]], None]
_result_hooks: list[ResultHook] = []


def on_result(hook: ResultHook) -> ResultHook:
    """Run `hook` on the result of every statement of every unit of work."""
    _result_hooks.append(hook)
    return hook


class Session:
    """Runs statements on one connection, inside or outside a transaction."""

    def __init__(self, db: Database, conn: pg8000.native.Connection) -> None:
        self._db = db
        self._conn = conn
        self._fresh = True  # nothing has been sent yet in this unit of work
        self._after_commit: list[Callable[[], None]] = []
        # What result hooks keep for the rest of this unit of work, by their own key.
        self.kept: dict[str, Any] = {}

    @property
    def db(self) -> Database:
        return self._db

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this unit of work has committed (never if it failed)."""
        self._after_commit.append(callback)

    def rows(self, sql: str, **params: Any) -> list[Row]:
        try:
            columns, values = run_unnamed(self._conn, sql, params)
        except DatabaseError as exc:
            raise _translate(exc) from exc
        finally:
            self._fresh = False
        names = [column["name"] for column in columns]
        found = [dict(zip(names, value, strict=True)) for value in values]
        for hook in _result_hooks:
            hook(self, names, found)
        return found

    def row(self, sql: str, **params: Any) -> Row | None:
        found = self.rows(sql, **params)
        return found[0] if found else None

    def scalar(self, sql: str, **params: Any) -> Any:
        found = self.row(sql, **params)
        return None if found is None else next(iter(found.values()))

    def execute(self, sql: str, **params: Any) -> None:
        self.rows(sql, **params)


class Database:
    """The database of one domain."""

    def __init__(self, domain: str) -> None:
        self.domain = domain
        self._local = threading.local()

    def _connection(self) -> pg8000.native.Connection:
        conn: pg8000.native.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            params = ConnectionParams.for_domain(self.domain)
            try:
                # No application_name: a proxy multiplexes the server connections anyway, and
                # the startup packet carries nothing a pooler must track.
                conn = params.connect(None)
            except _CONNECTION_ERRORS as exc:
                raise DatabaseUnavailable(f"The {self.domain} database is unreachable.") from exc
            except DatabaseError as exc:
                if params.iam:  # sign a fresh token next time rather than reuse a refused one
                    from inkwell import rds_iam

                    rds_iam.forget()
                raise _translate(exc) from exc
            self._local.conn = conn
        return conn

    def discard_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with suppress(Exception):  # the connection is already unusable
                conn.close()

    @contextmanager
    def _unit(self, begin: bool) -> Iterator[Session]:
        for attempt in (1, 2):
            conn = self._connection()
            session = Session(self, conn) if begin else _RetryingSession(self, conn)
            try:
                if begin:
                    conn.run("BEGIN")
                    session._fresh = False
                break
            except _CONNECTION_ERRORS as exc:
                self.discard_connection()
                if attempt == 2:
                    raise DatabaseUnavailable(
                        f"The {self.domain} database is unreachable."
                    ) from exc
        try:
            yield session
            if begin:
                conn.run("COMMIT")
        except _CONNECTION_ERRORS as exc:
            self.discard_connection()
            raise DatabaseUnavailable(f"The {self.domain} database connection failed.") from exc
        except BaseException:
            if begin:
                self._rollback(conn)
            raise
        for callback in session._after_commit:
            callback()

    def _rollback(self, conn: pg8000.native.Connection) -> None:
        try:
            conn.run("ROLLBACK")
        except _CONNECTION_ERRORS:
            self.discard_connection()
        except DatabaseError:
            self.discard_connection()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """All statements commit together, or none do."""
        with self._unit(begin=True) as session:
            yield session

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """Statements in autocommit mode: for reads and single-statement writes.

        A connection found broken on the first statement is re-opened and the statement
        retried once, which is safe because nothing of this unit reached the database.
        """
        with self._unit(begin=False) as session:
            yield session


class _RetryingSession(Session):
    def rows(self, sql: str, **params: Any) -> list[Row]:
        if not self._fresh:
            return super().rows(sql, **params)
        try:
            return super().rows(sql, **params)
        except _CONNECTION_ERRORS:
            self._db.discard_connection()
            self._conn = self._db._connection()
            return super().rows(sql, **params)


def sqlstate_of(exc: BaseException) -> str:
    """The SQLSTATE of a PostgreSQL error pg8000 raised ("" when it carries none)."""
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    return str(info.get("C", ""))


def _translate(exc: DatabaseError) -> Exception:
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    sqlstate = sqlstate_of(exc)
    if sqlstate.startswith("23"):
        return IntegrityConflict(sqlstate, str(info.get("n", "")))
    if sqlstate in ("40001", "40P01"):
        return SerializationConflict(sqlstate)
    if sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
        return DatabaseUnavailable("The database is unavailable. Try again shortly.")
    if sqlstate.startswith("22"):
        # Data exceptions reach here only when a value slipped past validation.
        return InvalidValue(sqlstate)
    return exc


_databases: dict[str, Database] = {}


def database(domain: str) -> Database:
    """The shared Database object of a domain (one per process)."""
    db = _databases.get(domain)
    if db is None:
        db = _databases[domain] = Database(domain)
    return db
