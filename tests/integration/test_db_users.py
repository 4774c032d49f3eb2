"""The domains' database users: what the application user can and cannot do, what the
owner can, and the settings that live on the users instead of on connections."""

from __future__ import annotations

from collections.abc import Iterator

import pg8000.native
import pytest
from pg8000.exceptions import DatabaseError

import wiring
from inkwell import db_users, env
from inkwell.db import ConnectionParams
from inkwell.migrations import apply
from local.platform import migrations_dir

FORBIDDEN_TO_APP = [
    "CREATE TABLE intruder (id int)",
    "CREATE TEMP TABLE scratch (id int)",
    "CREATE VIEW v AS SELECT 1",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE SEQUENCE s",
    "CREATE INDEX users_bio ON users (bio)",
    "ALTER TABLE users ADD COLUMN x int",
    "ALTER TABLE users DISABLE TRIGGER ALL",
    "DROP TABLE refresh_tokens",
    "DROP INDEX users_username_key",
    "TRUNCATE outbox",
    "ALTER TABLE users OWNER TO users_app",
    "CREATE SCHEMA other",
    "ALTER ROLE users_owner SET statement_timeout = 0",
    "CREATE ROLE intruder",
    "SELECT * FROM schema_migrations",
    "DELETE FROM schema_migrations",
    "ALTER SEQUENCE outbox_id_seq RESTART",
    "SELECT setval('outbox_id_seq', 1)",
]


def connect(url: str, user: str | None = None) -> pg8000.native.Connection:
    params = ConnectionParams.from_url(url)
    return (params.as_user(user, params.password) if user else params).connect("inkwell-test")


def sqlstate(exc: DatabaseError) -> str:
    return str(exc.args[0]["C"])


@pytest.fixture
def app(database_urls: dict[str, str]) -> Iterator[pg8000.native.Connection]:
    conn = connect(database_urls["users"])
    yield conn
    conn.close()


def test_the_functions_connect_as_the_application_users(database_urls: dict[str, str]) -> None:
    assert set(database_urls) == set(wiring.DATABASE_DOMAINS)
    for domain, url in database_urls.items():
        assert ConnectionParams.from_url(url).user == env.app_user(domain)


@pytest.mark.parametrize("statement", FORBIDDEN_TO_APP)
def test_the_application_user_cannot_change_the_schema(
    app: pg8000.native.Connection, statement: str
) -> None:
    app.run("BEGIN")
    try:
        with pytest.raises(DatabaseError) as refused:
            app.run(statement)
        # 42501: insufficient privilege; 42xxx: also refused before touching anything.
        assert sqlstate(refused.value).startswith("42"), refused.value
    finally:
        app.run("ROLLBACK")


def test_the_application_user_may_read_and_write_its_tables(
    app: pg8000.native.Connection, clean_databases: dict[str, str]
) -> None:
    app.run("BEGIN")
    try:
        app.run(
            "INSERT INTO users (username, email, password_hash)"
            " VALUES ('rights', 'rights@example.com', 'x')"
        )
        app.run("UPDATE users SET bio = 'b' WHERE username = 'rights'")
        assert app.run("SELECT bio FROM users WHERE username = 'rights'") == [["b"]]
        app.run(
            "INSERT INTO outbox (event_id, source, detail_type, detail)"
            " VALUES (gen_random_uuid(), 's', 'd', '{}')"
        )  # the sequence's nextval
        app.run("DELETE FROM users WHERE username = 'rights'")
    finally:
        app.run("ROLLBACK")


def test_the_application_user_cannot_reach_another_domains_database(
    database_urls: dict[str, str],
) -> None:
    for other in ("content", "comments"):
        name = ConnectionParams.from_url(database_urls[other]).database
        users_app = ConnectionParams.from_url(database_urls["users"]).with_database(name)
        with pytest.raises(DatabaseError) as refused:
            users_app.connect("inkwell-test").close()
        # No CONNECT privilege (42501; a pooler in between reports the login failure as 08P01).
        assert sqlstate(refused.value) in ("42501", "08P01"), refused.value
        assert "permission denied" in str(refused.value)


def test_settings_live_on_the_users(database_urls: dict[str, str]) -> None:
    app = connect(database_urls["users"])
    owner = connect(database_urls["users"], env.owner_user("users"))
    try:
        assert app.run("SHOW statement_timeout") == [["10s"]]
        assert app.run("SHOW TimeZone") == [["UTC"]]
        assert app.run("SHOW idle_in_transaction_session_timeout") == [["30s"]]
        assert owner.run("SHOW statement_timeout") == [["15min"]]
        assert owner.run("SHOW TimeZone") == [["UTC"]]
        assert db_users.up_to_date(owner, "users")
    finally:
        app.close()
        owner.close()


def test_the_owner_migrates_and_new_tables_get_the_application_rights(
    fresh_database_url: str,
    tmp_path: pytest.TempPathFactory,
) -> None:
    from pathlib import Path

    superuser = connect(fresh_database_url)
    try:
        db_users.provision(superuser, "users")
    finally:
        superuser.close()
    owner = connect(fresh_database_url, env.owner_user("users"))
    try:
        assert "0001_users" in apply(owner, migrations_dir("users"), grant_to="users")
        directory = Path(str(tmp_path))
        for path in migrations_dir("users").iterdir():
            (directory / path.name).write_text(path.read_text())
        (directory / "9000_later.sql").write_text(
            "CREATE TABLE later (id bigserial PRIMARY KEY, note text);"
            "ALTER TABLE users ADD COLUMN later_note text;"
        )
        assert apply(owner, directory, grant_to="users") == ["9000_later"]
    finally:
        owner.close()
    app = connect(fresh_database_url, env.app_user("users"))
    try:
        app.run("INSERT INTO later (note) VALUES ('x')")
        assert app.run("SELECT note FROM later") == [["x"]]
        with pytest.raises(DatabaseError):
            app.run("DROP TABLE later")
    finally:
        app.close()


def test_a_database_migrated_before_the_users_existed_is_adopted(
    fresh_database_url: str,
) -> None:
    """Databases migrated by the master user (before these users existed) keep working:
    provisioning gives every object to the owner, who then migrates on."""
    superuser = connect(fresh_database_url)
    try:
        apply(superuser, migrations_dir("users"))  # as it used to be: everything postgres's
        superuser.run("ALTER TABLE users OWNER TO postgres")
        db_users.provision(superuser, "users")
        owners = superuser.run(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
        )
        assert owners == [["users_owner"]]
    finally:
        superuser.close()
    owner = connect(fresh_database_url, env.owner_user("users"))
    try:
        assert apply(owner, migrations_dir("users"), grant_to="users") == []
    finally:
        owner.close()
    app = connect(fresh_database_url, env.app_user("users"))
    try:
        assert app.run("SELECT count(*) FROM users") == [[0]]
    finally:
        app.close()
