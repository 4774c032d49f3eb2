"""inkwell.db against real PostgreSQL: reconnects, transactions, error mapping, round trips."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from bench.wire import RoundTrips
from inkwell.db import Database, IntegrityConflict, database
from inkwell.errors import Problem
from inkwell.failures import DatabaseUnavailable, InvalidValue
from inkwell.http import problem_for
from tests.integration.support import sql

INSERT_USER = (
    "INSERT INTO users (username, email, password_hash) VALUES (:u, :u || '@example.com', 'x')"
    " RETURNING CAST(id AS text) AS id"
)


@pytest.fixture
def db(clean_databases: dict[str, str]) -> Iterator[Database]:
    """A Database of its own (the functions' shared one keeps its connection)."""
    instance = Database("users")
    yield instance
    instance.discard_connection()


@pytest.fixture
def counted(db: Database, wire: Callable[[str], RoundTrips]) -> RoundTrips:
    """The round trips `db` makes, counted on the wire."""
    db.discard_connection()
    return wire("users")


def answer(exc: Exception) -> Problem:
    """What the HTTP adapter answers a caller whose request met `exc`."""
    problem = problem_for(exc)
    assert problem is not None, f"{type(exc).__name__} would be a 500"
    return problem


def backend_pid(db: Database) -> int:
    with db.reader() as s:
        return int(s.scalar("SELECT pg_backend_pid()"))


def kill(pid: int) -> None:
    """Terminate a backend from another connection and wait until it is gone."""
    assert sql("SELECT pg_terminate_backend(:pid) AS ok", pid=pid) == [{"ok": True}]
    for _ in range(500):
        if not sql("SELECT 1 AS x FROM pg_stat_activity WHERE pid = :pid", pid=pid):
            return
        time.sleep(0.01)
    raise AssertionError(f"backend {pid} did not go away")


def test_connection_is_reused_across_units_of_work(db: Database) -> None:
    assert backend_pid(db) == backend_pid(db)


def test_killed_connection_is_reopened_by_the_next_reader(db: Database) -> None:
    old = backend_pid(db)
    kill(old)
    with db.reader() as s:
        new = s.scalar("SELECT pg_backend_pid()")
        assert s.scalar("SELECT 41 + 1") == 42
    assert new != old


def test_killed_connection_is_reopened_by_the_next_transaction(db: Database) -> None:
    old = backend_pid(db)
    kill(old)
    with db.transaction() as s:
        user_id = s.scalar(INSERT_USER, u="reconnected")
        new = s.scalar("SELECT pg_backend_pid()")
    assert new != old
    assert sql("SELECT CAST(id AS text) AS id FROM users") == [{"id": user_id}]


def test_connection_killed_mid_transaction_is_503_and_then_recovers(db: Database) -> None:
    with pytest.raises(DatabaseUnavailable) as raised, db.transaction() as s:
        s.scalar(INSERT_USER, u="halfway")
        kill(int(s.scalar("SELECT pg_backend_pid()")))
        s.scalar(INSERT_USER, u="never")
    assert answer(raised.value).status == 503
    assert sql("SELECT count(*) AS n FROM users") == [{"n": 0}]  # nothing committed
    with db.reader() as s:
        assert s.scalar("SELECT 1") == 1


def test_unreachable_database_is_503(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("INKWELL_USERS_DB_URL", f"postgresql://postgres@127.0.0.1:{port}/x")
    with pytest.raises(DatabaseUnavailable) as raised, Database("users").reader() as s:
        s.scalar("SELECT 1")
    assert answer(raised.value).status == 503
    assert answer(raised.value).headers.get("Retry-After")


def test_a_refused_login_is_503(
    monkeypatch: pytest.MonkeyPatch, database_urls: dict[str, str]
) -> None:
    url = database_urls["users"]
    monkeypatch.setenv("INKWELL_USERS_DB_URL", url.replace("users_app@", "no_such_user@"))
    with pytest.raises(DatabaseUnavailable) as raised, Database("users").reader() as s:
        s.scalar("SELECT 1")
    assert answer(raised.value).status == 503


def test_transaction_that_raises_rolls_back(db: Database) -> None:
    with pytest.raises(ZeroDivisionError), db.transaction() as s:
        s.scalar(INSERT_USER, u="rolled_back")
        assert s.scalar("SELECT count(*) FROM users") == 1  # visible inside
        _ = 1 / 0
    assert sql("SELECT count(*) AS n FROM users") == [{"n": 0}]
    with db.transaction() as s:  # the connection is clean and usable
        s.scalar(INSERT_USER, u="committed")
    assert sql("SELECT username FROM users") == [{"username": "committed"}]


def test_transaction_commits_all_statements_together(db: Database) -> None:
    with db.transaction() as s:
        s.scalar(INSERT_USER, u="one")
        s.scalar(INSERT_USER, u="two")
    assert sql("SELECT count(*) AS n FROM users") == [{"n": 2}]


def test_integrity_conflicts_are_mapped(db: Database) -> None:
    with db.reader() as s:
        user_id = s.scalar(INSERT_USER, u="taken")
    with pytest.raises(IntegrityConflict) as unique, db.reader() as s:
        s.scalar(INSERT_USER, u="TAKEN")
    assert unique.value.sqlstate == "23505"
    assert unique.value.constraint == "users_username_key"
    assert unique.value.is_unique_violation
    with pytest.raises(IntegrityConflict) as check, db.reader() as s:
        s.execute("UPDATE users SET role = 'root' WHERE id = CAST(:id AS uuid)", id=user_id)
    assert (check.value.sqlstate, check.value.constraint) == ("23514", "users_role_check")
    assert not check.value.is_unique_violation
    with pytest.raises(IntegrityConflict) as foreign, db.reader() as s:
        s.execute(
            "INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at)"
            " VALUES ('h', CAST(:id AS uuid), gen_random_uuid(), now())",
            id=str(uuid.uuid4()),
        )
    assert foreign.value.sqlstate == "23503"
    with pytest.raises(IntegrityConflict) as not_null, db.reader() as s:
        s.execute("INSERT INTO users (username, email, password_hash) VALUES ('n', NULL, 'x')")
    assert not_null.value.sqlstate == "23502"


def test_conflict_inside_a_transaction_rolls_back_earlier_statements(db: Database) -> None:
    with db.reader() as s:
        s.scalar(INSERT_USER, u="first")
    with pytest.raises(IntegrityConflict), db.transaction() as s:
        s.scalar(INSERT_USER, u="second")
        s.scalar(INSERT_USER, u="FIRST")
    assert sql("SELECT username FROM users") == [{"username": "first"}]
    with db.transaction() as s:  # the aborted transaction did not poison the connection
        s.scalar(INSERT_USER, u="third")
    assert sql("SELECT count(*) AS n FROM users") == [{"n": 2}]


def test_bad_value_that_slipped_past_validation_is_422(db: Database) -> None:
    with pytest.raises(InvalidValue) as raised, db.reader() as s:
        s.row("SELECT * FROM users WHERE id = CAST(:id AS uuid)", id="not-a-uuid")
    assert answer(raised.value).status == 422


def test_sql_error_is_not_disguised(db: Database) -> None:
    from pg8000.exceptions import DatabaseError

    with pytest.raises(DatabaseError), db.reader() as s:
        s.rows("SELECT no_such_column FROM users")
    with db.reader() as s:
        assert s.scalar("SELECT 1") == 1


def test_rows_row_scalar(db: Database) -> None:
    with db.reader() as s:
        assert s.rows("SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, 'y' ORDER BY 1") == [
            {"a": 1, "b": "x"},
            {"a": 2, "b": "y"},
        ]
        assert s.row("SELECT 1 AS a WHERE false") is None
        assert s.scalar("SELECT 1 WHERE false") is None
        assert s.scalar("SELECT :v::int + 1", v=41) == 42


def test_every_statement_costs_one_round_trip(db: Database, counted: RoundTrips) -> None:
    query = "SELECT count(*) FROM users WHERE lower(username) = lower(:u)"
    backend_pid(db)  # connected
    before = counted.round_trips
    with db.reader() as s:
        assert s.scalar(query, u="nobody") == 0
    assert counted.round_trips - before == 1
    before = counted.round_trips
    with db.reader() as s:
        for i in range(5):
            s.scalar(query, u=f"n{i}")
    assert counted.round_trips - before == 5
    before = counted.round_trips
    with db.reader() as s:  # a statement never seen before costs the same
        s.scalar(f"SELECT {uuid.uuid4().int % 1000} + 1")
    assert counted.round_trips - before == 1


def test_a_transaction_adds_begin_and_commit(db: Database, counted: RoundTrips) -> None:
    with db.transaction() as s:
        s.scalar(INSERT_USER, u="warm")
    before = counted.round_trips
    with db.transaction() as s:
        s.scalar(INSERT_USER, u="counted")
    assert counted.round_trips - before == 3  # BEGIN, the statement, COMMIT


def test_statements_leave_no_session_state(db: Database) -> None:
    """Nothing a statement leaves on its server connection may be needed by the next one:
    no named prepared statement, no setting changed from the user's defaults."""
    with db.reader() as s:
        s.scalar(INSERT_USER, u="stateless")
        s.rows("SELECT * FROM users WHERE username = :u", u="stateless")
        assert s.scalar("SELECT count(*) FROM pg_prepared_statements") == 0
        # (A pooler may set application_name on its server connections: its own doing.)
        changed = s.rows(
            "SELECT name FROM pg_settings WHERE source = 'session' AND name <> 'application_name'"
        )
        assert changed == []
        assert s.scalar("SHOW TimeZone") == "UTC"
        assert s.scalar("SHOW application_name") == ""  # no startup parameter either


def test_each_thread_has_its_own_connection(clean_databases: dict[str, str]) -> None:
    shared = database("users")
    pids: list[int] = []
    barrier = threading.Barrier(3)

    def work() -> None:
        try:
            with shared.transaction() as s:  # held open together: three server connections
                pids.append(int(s.scalar("SELECT pg_backend_pid()")))
                barrier.wait(timeout=10)
        finally:
            shared.discard_connection()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(pids) == 3 and len(set(pids)) == 3


def test_the_functions_database_is_one_per_domain() -> None:
    assert database("users") is database("users")
    assert os.environ["INKWELL_USERS_DB_URL"]
