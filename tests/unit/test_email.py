"""inkwell.email: the log transport (masked recipient, subject and text in full), the
settings that choose the transport, and the SES transport against moto's SES v2."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from inkwell import email
from inkwell.email import EmailMessage, EmailNotSent
from inkwell.observability import logger
from inkwell.settings import ConfigurationError, EmailSettings
from tests.email_support import SENDER, sent

ROOT = Path(__file__).resolve().parents[2]
ALICE = "alice.liddell@example.com"
MESSAGE = EmailMessage(
    to=ALICE,
    subject='New comment on "Down the Rabbit Hole"',
    text='admin commented on your post "Down the Rabbit Hole":\n\nCuriouser and curiouser!',
)
LOGGED = "email (log transport, not sent)"

LogLines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    """The Powertools JSON lines written during the test (its handler's stream, bound to
    stdout at import, pointed at a buffer), at DEBUG."""
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    old_stream = handler.setStream(buffer)
    old_level = logger.log_level
    logger.setLevel(logging.DEBUG)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines() if line]
    finally:
        logger.setLevel(old_level)
        handler.setStream(old_stream)


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- masking --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("alice@example.com", "a***@example.com"),
        ("a@example.com", "a***@example.com"),
        ("first.last+tag@mail.example.co.uk", "f***@mail.example.co.uk"),
        ("odd@name@example.com", "o***@example.com"),
        ("no-at-sign", "***"),
        ("@example.com", "***"),
        ("", "***"),
    ],
)
def test_mask_keeps_the_first_letter_and_the_domain(address: str, masked: str) -> None:
    assert email.mask(address) == masked


def test_mask_addresses_masks_every_address_in_a_text() -> None:
    text = (
        "Email address is not verified. The following identities failed the check in"
        " region US-EAST-1: alice@example.com, <bob.b@example.org>"
    )
    masked = email.mask_addresses(text)
    assert "alice@example.com" not in masked and "bob.b@example.org" not in masked
    assert "a***@example.com" in masked and "b***@example.org" in masked
    assert masked.startswith("Email address is not verified.")


def test_one_line_folds_line_breaks() -> None:
    assert email.one_line(" New\r\ncomment \t on  it\n") == "New comment on it"


# --- settings -------------------------------------------------------------------------------


def test_the_log_transport_is_the_default(email_env: pytest.MonkeyPatch) -> None:
    assert EmailSettings.from_env() == EmailSettings(transport="log", sender=None)
    email_env.setenv("INKWELL_EMAIL_TRANSPORT", "")
    assert EmailSettings.from_env().transport == "log"
    assert email.transport().name == "log"


def test_transport_names_are_case_insensitive(email_env: pytest.MonkeyPatch) -> None:
    email_env.setenv("INKWELL_EMAIL_TRANSPORT", " SES ")
    email_env.setenv("INKWELL_EMAIL_SENDER", SENDER)
    assert EmailSettings.from_env() == EmailSettings(transport="ses", sender=SENDER)


@pytest.mark.parametrize("value", ["smtp", "sesv2", "logs", "1"])
def test_an_unknown_transport_names_the_variable(email_env: pytest.MonkeyPatch, value: str) -> None:
    email_env.setenv("INKWELL_EMAIL_TRANSPORT", value)
    with pytest.raises(
        ConfigurationError,
        match=r"^INKWELL_EMAIL_TRANSPORT must be one of log,"
        r" ses, got ",
    ):
        EmailSettings.from_env()
    with pytest.raises(ConfigurationError, match="INKWELL_EMAIL_TRANSPORT"):
        email.send(MESSAGE)


@pytest.mark.parametrize("sender", [None, "", "   "])
def test_ses_without_a_sender_names_the_variable(
    email_env: pytest.MonkeyPatch, sender: str | None
) -> None:
    email_env.setenv("INKWELL_EMAIL_TRANSPORT", "ses")
    if sender is not None:
        email_env.setenv("INKWELL_EMAIL_SENDER", sender)
    with pytest.raises(ConfigurationError, match="INKWELL_EMAIL_SENDER is not set"):
        EmailSettings.from_env()
    with pytest.raises(ConfigurationError, match="INKWELL_EMAIL_SENDER"):
        email.send(MESSAGE)


@pytest.mark.parametrize(
    "sender",
    [
        "inkwell",
        "no-reply@",
        "@inkwell.example",
        "no-reply@localhost",
        "no reply@inkwell.example",
        "Inkwell <inkwell>",
    ],
)
def test_a_malformed_sender_names_the_variable(email_env: pytest.MonkeyPatch, sender: str) -> None:
    email_env.setenv("INKWELL_EMAIL_SENDER", sender)
    with pytest.raises(ConfigurationError, match=r"^INKWELL_EMAIL_SENDER must be an email"):
        EmailSettings.from_env()


@pytest.mark.parametrize("sender", [SENDER, f"Inkwell <{SENDER}>", f"<{SENDER}>"])
def test_senders_with_or_without_a_display_name(email_env: pytest.MonkeyPatch, sender: str) -> None:
    email_env.setenv("INKWELL_EMAIL_SENDER", sender)
    assert EmailSettings.from_env().sender == sender


def test_a_fixed_configuration_is_read_again_after_reset(
    email_env: pytest.MonkeyPatch, log_lines: LogLines
) -> None:
    email_env.setenv("INKWELL_EMAIL_TRANSPORT", "ses")
    with pytest.raises(ConfigurationError):
        email.send(MESSAGE)
    email_env.setenv("INKWELL_EMAIL_TRANSPORT", "log")
    email.reset()
    email.send(MESSAGE)
    assert [line["message"] for line in log_lines()] == [LOGGED]


# --- the log transport ----------------------------------------------------------------------


def test_the_log_transport_logs_subject_and_text_with_the_recipient_masked(
    email_env: pytest.MonkeyPatch, log_lines: LogLines
) -> None:
    email.send(MESSAGE)
    (line,) = log_lines()
    assert line["message"] == LOGGED
    assert line["level"] == "INFO"
    assert line["email"] == {
        "to": "a***@example.com",
        "from": None,
        "subject": MESSAGE.subject,
        "text": MESSAGE.text,
    }
    assert ALICE not in json.dumps(log_lines())


def test_the_log_transport_shows_the_configured_sender(
    email_env: pytest.MonkeyPatch, log_lines: LogLines
) -> None:
    email_env.setenv("INKWELL_EMAIL_SENDER", f"Inkwell <{SENDER}>")
    email.send(MESSAGE)
    (line,) = log_lines()
    assert line["email"]["from"] == f"Inkwell <{SENDER}>"


def sdk_modules_after_import(module: str) -> list[str]:
    """The boto3/botocore modules loaded by importing `module` in a fresh interpreter."""
    code = (
        f"import json, sys, {module}; print(json.dumps(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('boto3', 'botocore'))))"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            str(ROOT / p) for p in ("functions", "layers/shared/python", ".")
        ),
    }
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True
    )
    found = json.loads(result.stdout)
    assert isinstance(found, list)
    return [str(m) for m in found]


def test_importing_the_port_and_the_consumer_does_not_import_boto3() -> None:
    """Cold-start budget: boto3 is imported by the first send over SES, not at import. (The
    Powertools logger imports botocore's top-level package for every function: the email
    consumer loads nothing of the AWS SDK beyond what the audit consumer does.)"""
    baseline = sdk_modules_after_import("users.consumers.audit")
    loaded = sdk_modules_after_import("users.consumers.email")
    assert "boto3" not in loaded
    assert loaded == baseline


# --- the SES transport, against moto --------------------------------------------------------


def test_ses_sends_a_plain_text_email_from_the_sender(ses: Any, log_lines: LogLines) -> None:
    email.send(MESSAGE)
    (message,) = sent()
    assert message.source == f"Inkwell <{SENDER}>"
    assert message.destinations == {"ToAddresses": [ALICE]}
    assert message.subject == MESSAGE.subject
    assert message.body == MESSAGE.text
    (line,) = log_lines()
    assert line["message"] == "email sent" and line["to"] == "a***@example.com"
    assert line["messageId"] == message.id
    assert ALICE not in json.dumps(log_lines())


def test_ses_client_is_created_once_and_kept(ses: Any) -> None:
    email.send(MESSAGE)
    email.send(EmailMessage("bob@example.com", "Another", "Text"))
    assert len(sent()) == 2
    assert email._ses_client.cache_info().misses == 1
    config = email._ses_client().meta.config  # a hung SES fails within the consumer's 10 s
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}
    assert (config.connect_timeout, config.read_timeout) == (2, 3)


def test_ses_subject_is_one_line(ses: Any) -> None:
    email.send(EmailMessage(ALICE, "A subject\r\nBcc: mallory@example.com", "Body\nlines"))
    (message,) = sent()
    assert message.subject == "A subject Bcc: mallory@example.com"
    assert message.body == "Body\nlines"
    assert message.destinations == {"ToAddresses": [ALICE]}


def test_a_message_ses_rejects_is_logged_and_not_raised(
    ses: Any, email_env: pytest.MonkeyPatch, log_lines: LogLines
) -> None:
    """MessageRejected (here: the sender is not verified) cannot succeed on a retry."""
    email_env.setenv("INKWELL_EMAIL_SENDER", "unverified@inkwell.example")
    email.reset()
    email.send(MESSAGE)  # does not raise
    assert sent() == []
    (line,) = log_lines()
    assert line["level"] == "WARNING"
    assert line["message"] == "email rejected by SES, not retried"
    assert line["errorCode"] == "MessageRejected"
    assert line["to"] == "a***@example.com"
    assert "u***@inkwell.example" in line["reason"]  # SES's message, its address masked
    text = json.dumps(log_lines())
    assert ALICE not in text and "unverified@inkwell.example" not in text


def test_another_ses_error_raises_so_the_caller_is_retried(ses: Any, log_lines: LogLines) -> None:
    with pytest.raises(EmailNotSent, match=r"^SES refused the email: InvalidParameterValue"):
        email.send(EmailMessage("alice.liddell", "Subject", "Text"))
    assert sent() == []
    assert log_lines() == []


def test_ses_unreachable_raises_so_the_caller_is_retried(
    email_env: pytest.MonkeyPatch, log_lines: LogLines
) -> None:
    email_env.setenv("INKWELL_EMAIL_TRANSPORT", "ses")
    email_env.setenv("INKWELL_EMAIL_SENDER", SENDER)
    email_env.setenv("AWS_ENDPOINT_URL_SESV2", f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(EmailNotSent, match=r"^SES is unreachable: EndpointConnectionError$"):
        email.send(MESSAGE)
    assert log_lines() == []
