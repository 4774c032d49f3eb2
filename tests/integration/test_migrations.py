"""inkwell.migrations.apply on fresh databases: once, in order, atomic, safe when racing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pg8000.native
import pytest

from inkwell import migrations
from inkwell.db import ConnectionParams
from inkwell.migrations import apply, pending_files
from local.platform import migrations_dir
from tests.integration.support import race

USERS_MIGRATIONS = migrations_dir("users")
# Every domain database also gets the platform's own migrations first (when there are any).
_PLATFORM_DIR: Path | None = getattr(migrations, "PLATFORM_DIR", None)
PLATFORM_VERSIONS = (
    [f"platform/{p.stem}" for p in pending_files(_PLATFORM_DIR)] if _PLATFORM_DIR else []
)
USERS_VERSIONS = PLATFORM_VERSIONS + sorted(p.stem for p in USERS_MIGRATIONS.glob("*.sql"))


@pytest.fixture
def fresh(fresh_database_url: str) -> Iterator[pg8000.native.Connection]:
    conn = ConnectionParams.from_url(fresh_database_url).connect("inkwell-test-migrations")
    yield conn
    conn.close()


def recorded(conn: pg8000.native.Connection) -> list[str]:
    return [r[0] for r in conn.run("SELECT version FROM schema_migrations ORDER BY version")]


def tables(conn: pg8000.native.Connection) -> set[str]:
    return {r[0] for r in conn.run("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def test_applied_once_then_nothing(fresh: pg8000.native.Connection) -> None:
    assert "0001_users" in USERS_VERSIONS
    assert apply(fresh, USERS_MIGRATIONS) == USERS_VERSIONS
    assert {"users", "refresh_tokens", "login_failures", "schema_migrations"} <= tables(fresh)
    assert apply(fresh, USERS_MIGRATIONS) == []
    assert recorded(fresh) == sorted(USERS_VERSIONS)


def test_two_runners_at_once_record_each_version_once(fresh_database_url: str) -> None:
    def run() -> list[str]:
        conn = ConnectionParams.from_url(fresh_database_url).connect("inkwell-test-race")
        try:
            return apply(conn, USERS_MIGRATIONS)
        finally:
            conn.close()

    results = race([run, run]).results
    # Each file is applied by whichever runner takes its lock first: between them, each
    # version once, and each runner in order.
    assert sorted(results[0] + results[1]) == sorted(USERS_VERSIONS)
    for applied in results:
        assert applied == [v for v in USERS_VERSIONS if v in applied]
    conn = ConnectionParams.from_url(fresh_database_url).connect()
    try:
        rows = conn.run("SELECT version, count(*) FROM schema_migrations GROUP BY version")
        assert sorted(rows) == [[v, 1] for v in sorted(USERS_VERSIONS)]
    finally:
        conn.close()


def test_a_failing_migration_rolls_back_and_stops(
    fresh: pg8000.native.Connection, fresh_database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE first_table (id int);")
    (tmp_path / "0002_broken.sql").write_text(
        "CREATE TABLE half_done (id int);\nINSERT INTO half_done VALUES (1);\n"
        "SELECT * FROM no_such_table;\n"
    )
    (tmp_path / "0003_later.sql").write_text("CREATE TABLE later_table (id int);")
    with pytest.raises(pg8000.native.DatabaseError):
        apply(fresh, tmp_path)
    assert recorded(fresh) == sorted([*PLATFORM_VERSIONS, "0001_first"])
    assert "first_table" in tables(fresh)
    assert not {"half_done", "later_table"} & tables(fresh)
    # The advisory lock was released: another session can take it at once ...
    other = ConnectionParams.from_url(fresh_database_url).connect("inkwell-test-lock")
    try:
        assert other.run("SELECT pg_try_advisory_lock(:k)", k=migrations._LOCK_KEY) == [[True]]
        other.run("SELECT pg_advisory_unlock(:k)", k=migrations._LOCK_KEY)
    finally:
        other.close()
    # ... and once the file is fixed, the rest is applied.
    (tmp_path / "0002_broken.sql").write_text("CREATE TABLE half_done (id int);")
    assert apply(fresh, tmp_path) == ["0002_broken", "0003_later"]
    assert recorded(fresh) == sorted(
        [*PLATFORM_VERSIONS, "0001_first", "0002_broken", "0003_later"]
    )


def test_migrations_apply_in_version_order(fresh: pg8000.native.Connection, tmp_path: Path) -> None:
    (tmp_path / "0002_uses.sql").write_text("INSERT INTO base VALUES (2);")
    (tmp_path / "0001_base.sql").write_text(
        "CREATE TABLE base (id int); INSERT INTO base VALUES (1);"
    )
    (tmp_path / "README.md").write_text("not a migration")
    assert apply(fresh, tmp_path) == [*PLATFORM_VERSIONS, "0001_base", "0002_uses"]
    assert fresh.run("SELECT id FROM base ORDER BY id") == [[1], [2]]


@pytest.mark.parametrize("name", ["1_short.sql", "0001-dash.sql", "0001_UPPER.sql", "abcd_x.sql"])
def test_badly_named_migration_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(ValueError, match=r"0001_name\.sql"):
        pending_files(tmp_path)


def test_connecting_retries_with_backoff_then_fails_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    waits: list[float] = []
    monkeypatch.setattr(migrations.time, "sleep", waits.append)
    params = ConnectionParams.from_url(f"postgresql://users_owner@127.0.0.1:{port}/x")
    with pytest.raises(migrations.MigrationFailed) as failed:
        migrations.connect(params, "inkwell-test")
    assert waits == [1.0, 2.0, 4.0]  # four attempts
    assert f"127.0.0.1:{port}/x as users_owner after 4 attempts" in str(failed.value)
    assert "refused" in str(failed.value).lower()
