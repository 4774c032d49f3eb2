"""Forgotten passwords: a single-use, expiring reset token sent through the email port,
the same answer whether or not the account exists, throttled per account and per client,
and never in a log or an event."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inkwell import email
from local.dispatch import Response
from tests.conftest import Api
from tests.integration.conftest import Logs
from tests.integration.support import (
    PASSWORD,
    USERS,
    Account,
    assert_problem,
    error_fields,
    sql,
)
from users import service

RESET = f"{USERS}/password-reset"
CONFIRM = f"{RESET}/confirm"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def mailbox(email_env: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """The log transport's mailbox: every email the platform sends, as a file."""
    email_env.setenv("INKWELL_EMAIL_MAILBOX", str(tmp_path))
    email.reset()
    yield tmp_path


def ask(api: Api, name: str, source_ip: str = "127.0.0.1") -> Response:
    return api.dispatcher.handle(
        "POST",
        RESET,
        headers={"content-type": ["application/json"]},
        body=f'{{"username": "{name}"}}'.encode(),
        source_ip=source_ip,
    )


def mails(mailbox: Path) -> list[str]:
    return [p.read_text() for p in sorted(mailbox.iterdir())]


def token_of(mail: str) -> str:
    return mail.split("choose a new password:\n\n", 1)[1].split("\n", 1)[0].strip()


def confirm(api: Api, token: str, password: str = NEW_PASSWORD) -> Response:
    return api.call("POST", CONFIRM, {"token": token, "newPassword": password})


def login(api: Api, name: str, password: str) -> Response:
    return api.call("POST", f"{USERS}/login", {"username": name, "password": password})


def test_a_reset_by_email_sets_the_password_and_revokes_every_refresh_token(
    api: Api, alice: Account, mailbox: Path, logs: Logs
) -> None:
    answer = ask(api, "ALICE@example.com")
    assert answer.status == 202, answer.body
    (mail,) = mails(mailbox)
    assert "To: alice@example.com" in mail and "Hello alice" in mail
    token = token_of(mail)
    assert sql("SELECT token_hash FROM password_resets")[0]["token_hash"] != token
    assert confirm(api, token).status == 204
    assert_problem(login(api, "alice", PASSWORD), 401)
    assert login(api, "alice", NEW_PASSWORD).status == 200
    refreshed = api.call("POST", f"{USERS}/refresh", {"refreshToken": alice.refresh_token})
    assert_problem(refreshed, 401)
    # Single use.
    assert error_fields(confirm(api, token, "yet another passphrase")) == {"token"}
    assert login(api, "alice", NEW_PASSWORD).status == 200
    # Never in a log, never in an event.
    assert token not in logs.text
    assert "[redacted]" in logs.text
    outbox = sql("SELECT detail::text AS p FROM outbox")
    assert all(token not in row["p"] for row in outbox)


def test_the_answer_is_the_same_whether_or_not_the_account_exists(
    api: Api, alice: Account, mailbox: Path
) -> None:
    existing, unknown = ask(api, "alice"), ask(api, "nobody@example.com")
    assert existing.status == unknown.status == 202
    assert existing.json() == unknown.json()
    assert set(existing.headers) == set(unknown.headers)
    assert len(mails(mailbox)) == 1


def test_a_deactivated_account_gets_no_reset(api: Api, alice: Account, mailbox: Path) -> None:
    sql("UPDATE users SET is_active = false WHERE id = CAST(:id AS uuid)", id=alice.id)
    assert ask(api, "alice").status == 202
    assert mails(mailbox) == []


def test_an_expired_token_is_refused(api: Api, alice: Account, mailbox: Path) -> None:
    ask(api, "alice")
    token = token_of(mails(mailbox)[0])
    sql("UPDATE password_resets SET expires_at = now() - interval '1 second'")
    problem = assert_problem(confirm(api, token), 422)
    assert "expired" in problem["detail"]
    assert login(api, "alice", PASSWORD).status == 200


def test_using_one_token_voids_the_others(api: Api, alice: Account, mailbox: Path) -> None:
    ask(api, "alice")
    ask(api, "alice")
    first, second = (token_of(m) for m in mails(mailbox))
    assert confirm(api, second).status == 204
    assert error_fields(confirm(api, first, "yet another passphrase")) == {"token"}


def test_requests_are_throttled_per_account_silently_and_per_client_with_429(
    api: Api, alice: Account, mailbox: Path
) -> None:
    for i in range(service.RESET_MAX_PER_ACCOUNT + 2):
        assert ask(api, "alice", source_ip=f"10.0.0.{i}").status == 202
    assert len(mails(mailbox)) == service.RESET_MAX_PER_ACCOUNT
    for _ in range(service.RESET_MAX_PER_CLIENT):
        assert ask(api, "ghost", source_ip="10.9.9.9").status == 202
    throttled = ask(api, "ghost", source_ip="10.9.9.9")
    assert_problem(throttled, 429)
    assert 1 <= int(throttled.headers["retry-after"]) <= service.RESET_WINDOW_S
    assert ask(api, "ghost", source_ip="10.9.9.10").status == 202


def test_the_new_password_is_validated(api: Api, alice: Account, mailbox: Path) -> None:
    ask(api, "alice")
    token = token_of(mails(mailbox)[0])
    assert error_fields(confirm(api, token, "short")) == {"newPassword"}
    assert confirm(api, token).status == 204  # the refused attempt did not use it
