"""No secret is ever logged: not a password, not a bcrypt hash, not a stack trace."""

from __future__ import annotations

from inkwell.observability import logger
from tests.conftest import Api
from tests.integration.conftest import Logs
from tests.integration.support import USERS

SECRET = "Sup3r-Secret-Passw0rd"
NEW_SECRET = "An0ther-Secret-Passw0rd"


def test_a_whole_session_logs_no_password_hash_or_traceback(api: Api, logs: Logs) -> None:
    user = api.register("alice", SECRET)
    api.call("POST", f"{USERS}/login", {"username": "alice", "password": "Wrong-" + SECRET})
    tokens = api.login("alice", SECRET)
    request_id = "log-test-request-0001"
    api.call("GET", f"{USERS}/me", token=tokens["token"])
    api.call("POST", f"{USERS}/refresh", {"refreshToken": tokens["refreshToken"]})
    api.call("POST", f"{USERS}/refresh", {"refreshToken": tokens["refreshToken"]},  # reuse
             headers={"X-Request-ID": request_id})
    api.call("PUT", f"{USERS}/{user['id']}/password",
             {"currentPassword": "Wrong-" + SECRET, "newPassword": NEW_SECRET},
             token=tokens["token"])
    api.call("PUT", f"{USERS}/{user['id']}/password",
             {"currentPassword": SECRET, "newPassword": NEW_SECRET}, token=tokens["token"])
    # Invalid input carrying secrets: the validation errors must not echo them anywhere.
    api.call("POST", f"{USERS}/register",
             {"username": "bob", "email": "bob@example.com", "password": "é" * 37 + SECRET})
    api.call("POST", f"{USERS}/register", {"username": "x", "password": SECRET, "role": "admin"})
    api.call("POST", f"{USERS}/login", {"username": "alice", "password": SECRET + "\u0000"})
    api.call("GET", f"{USERS}/me", token="garbage")

    logger.info("probe", extra={"probe": "canary-value"})
    text = logs.text
    # The capture works: it sees extra fields, and the operations above did log, as JSON,
    # with the request id as correlation id.
    assert "canary-value" in logs.stream.getvalue()
    assert "user registered" in text
    assert "login failed" in text
    assert "refresh token reused" in text
    lines = logs.json_lines()
    (reuse,) = [line for line in lines if line["message"].startswith("refresh token reused")]
    assert reuse["correlation_id"] == request_id
    assert all("level" in line and "message" in line for line in lines)
    # ... and nothing secret is in it.
    for secret in (SECRET, NEW_SECRET, "é" * 37, tokens["refreshToken"], tokens["token"]):
        assert secret not in text
    assert "$2b$" not in text
    assert "Traceback" not in text


def test_an_unexpected_error_is_logged_without_message_or_trace(api: Api, logs: Logs) -> None:
    from inkwell.http import log_unexpected

    try:
        raise RuntimeError(f"boom with {SECRET}")
    except RuntimeError as exc:
        log_unexpected(exc)
    text = logs.text
    assert "unexpected error" in text and "RuntimeError" in text
    assert SECRET not in text and "Traceback" not in text
