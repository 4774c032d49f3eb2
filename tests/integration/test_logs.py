"""No secret is ever logged: not a password, not a bcrypt hash, not a stack trace."""

from __future__ import annotations

import wiring
from inkwell.observability import ExecutionEnvironment, logger
from local.dispatch import context_for
from tests.conftest import Api
from tests.integration.conftest import Logs
from tests.integration.support import USERS
from tests.integration.test_consumers import bus_event
from users.consumers import audit

SECRET = "Sup3r-Secret-Passw0rd"
NEW_SECRET = "An0ther-Secret-Passw0rd"


def test_a_whole_session_logs_no_password_hash_or_traceback(api: Api, logs: Logs) -> None:
    user = api.register("alice", SECRET)
    api.call("POST", f"{USERS}/login", {"username": "alice", "password": "Wrong-" + SECRET})
    tokens = api.login("alice", SECRET)
    request_id = "log-test-request-0001"
    api.call("GET", f"{USERS}/me", token=tokens["token"])
    api.call("POST", f"{USERS}/refresh", {"refreshToken": tokens["refreshToken"]})
    api.call(
        "POST",
        f"{USERS}/refresh",
        {"refreshToken": tokens["refreshToken"]},  # reuse
        headers={"X-Request-ID": request_id},
    )
    api.call(
        "PUT",
        f"{USERS}/{user['id']}/password",
        {"currentPassword": "Wrong-" + SECRET, "newPassword": NEW_SECRET},
        token=tokens["token"],
    )
    api.call(
        "PUT",
        f"{USERS}/{user['id']}/password",
        {"currentPassword": SECRET, "newPassword": NEW_SECRET},
        token=tokens["token"],
    )
    # Invalid input carrying secrets: the validation errors must not echo them anywhere.
    api.call(
        "POST",
        f"{USERS}/register",
        {"username": "bob", "email": "bob@example.com", "password": "é" * 37 + SECRET},
    )
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


CONTEXT_FIELDS = (
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
)


def assert_context_of(line: dict[str, object], function: wiring.Function) -> None:
    assert set(CONTEXT_FIELDS) <= set(line), line
    assert isinstance(line["cold_start"], bool)
    assert line["function_name"] == function.name
    assert line["function_memory_size"] == function.memory_mb
    assert str(line["function_arn"]).endswith(f":function:{function.name}")
    assert line["function_request_id"] not in (None, "", "UNDEFINED")


def test_lines_of_a_route_and_a_consumer_carry_the_lambda_context(
    api: Api, logs: Logs, clean_databases: dict[str, str]
) -> None:
    api.register("carol", SECRET)
    consumer = next(c for c in wiring.CONSUMERS if c.name == "users-audit")
    event = bus_event("user.registered")
    audit.handler(event, context_for(consumer))
    lines = logs.json_lines()
    (registered,) = [line for line in lines if line["message"] == "user registered"]
    assert_context_of(registered, next(r for r in wiring.ROUTES if r.name == "users-register"))
    (processed,) = [
        line
        for line in lines
        if line["message"] == "event processed" and line["eventId"] == event["detail"]["eventId"]
    ]
    assert_context_of(processed, consumer)
    assert processed["correlation_id"] == event["detail"]["correlationId"]
    assert processed["function_request_id"] != registered["function_request_id"]


def test_only_the_first_invocation_of_an_environment_is_a_cold_start(logs: Logs) -> None:
    environment = ExecutionEnvironment()
    route = next(r for r in wiring.ROUTES if r.name == "users-register")
    for _ in range(2):
        environment.start(context_for(route))
        logger.info("probe")
    environment.start(None)  # as the tests call handlers: nothing left of the last context
    logger.info("probe")
    first, second, third = (line for line in logs.json_lines() if line["message"] == "probe")
    assert (first["cold_start"], second["cold_start"], third["cold_start"]) == (True, False, False)
    assert first["function_request_id"] != second["function_request_id"]
    assert not set(CONTEXT_FIELDS[1:]) & set(third)
