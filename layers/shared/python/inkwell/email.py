"""Sending email: one port, `send(EmailMessage(to, subject, text))`, two transports.

The transport is chosen by settings (`inkwell.settings.email_settings`):

- ``INKWELL_EMAIL_TRANSPORT=log`` (the default) writes each message to the structured log,
  the recipient masked (``a***@example.com``), subject and text in full, so developers see
  the emails the platform would send under ``make run``;
- ``INKWELL_EMAIL_TRANSPORT=ses`` sends it with Amazon SES (API v2, plain-text "Simple"
  content) from ``INKWELL_EMAIL_SENDER``, which must then be set.

boto3 is imported when the first email is sent over SES, not at import: creating a boto3
client costs 150-250 ms of cold start (see inkwell.eventbridge), and the client is then kept
for the life of the execution environment. Like the AWS SDKs, it honours
``AWS_ENDPOINT_URL_SESV2`` / ``AWS_ENDPOINT_URL``.

Failures: an address SES refuses for good (``MessageRejected``: an unverified identity, a
recipient it will not mail) is logged as a warning and not raised, since sending it again
cannot succeed. Anything else (throttling, SES unreachable, sending paused, a request SES
finds malformed) raises `EmailNotSent`, so the caller's invocation fails and is retried,
and in the end dead-lettered where an alarm sees it.

A full email address is never logged: recipients are masked, and so is any address inside
a message SES answers with. A message may carry a `secret` (a password reset's token):
the log transport writes it as ``[redacted]``, and the whole message only into the local
mailbox directory (``INKWELL_EMAIL_MAILBOX``, set by ``make run``), where a developer reads
the emails the platform sent.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from inkwell import env
from inkwell.observability import logger
from inkwell.settings import ConfigurationError, email_settings

# SES error codes that mean "this message will never be accepted": not retried.
PERMANENT_ERRORS = frozenset({"MessageRejected"})

# A consumer's invocation has 10 s: a hung SES must fail it before Lambda's timeout does.
_CONNECT_TIMEOUT_S = 2
_READ_TIMEOUT_S = 3
_MAX_ATTEMPTS = 2  # the first request included

_ADDRESS = re.compile(r"[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+")


@dataclass(frozen=True)
class EmailMessage:
    """One plain-text email to one recipient."""

    to: str
    subject: str
    text: str
    # Part of `text` that must never reach a log (a one-time token).
    secret: str | None = None

    def redacted_text(self) -> str:
        return self.text.replace(self.secret, "[redacted]") if self.secret else self.text


class EmailNotSent(Exception):
    """SES did not take the message, and trying again later may succeed. The message (no
    full address in it) names the SES error code or the connection failure."""


def mask(address: str) -> str:
    """``alice@example.com`` -> ``a***@example.com``: enough to tell recipients apart in a
    log, not enough to mail them."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local:
        return "***"
    return f"{local[0]}***@{domain}"


def mask_addresses(text: str) -> str:
    """`text` with every email address in it masked."""
    return _ADDRESS.sub(lambda found: mask(found.group(0)), text)


def one_line(text: str) -> str:
    """A subject as one header line: line breaks and runs of whitespace become one space."""
    return " ".join(text.split())


class Transport(Protocol):
    name: str

    def send(self, message: EmailMessage) -> None: ...


class LogTransport:
    """Writes the message to the log instead of sending it (local runs, tests, stages
    without SES)."""

    name = "log"

    def __init__(self, sender: str | None = None, mailbox: Path | None = None) -> None:
        self.sender = sender
        self.mailbox = mailbox

    def send(self, message: EmailMessage) -> None:
        logged = {
            "to": mask(message.to),
            "from": self.sender,
            "subject": message.subject,
            "text": message.redacted_text(),
        }
        if self.mailbox is not None:
            logged["file"] = self._save(message)
        logger.info("email (log transport, not sent)", extra={"email": logged})

    def _save(self, message: EmailMessage) -> str:
        assert self.mailbox is not None
        self.mailbox.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = self.mailbox / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        path.write_text(
            f"From: {self.sender or 'inkwell'}\nTo: {message.to}\n"
            f"Subject: {one_line(message.subject)}\n\n{message.text}\n",
            encoding="utf-8",
        )
        return str(path)


@cache
def _ses_client() -> Any:
    import boto3  # deferred: see module docstring
    from botocore.config import Config

    return boto3.client(
        "sesv2",
        config=Config(
            connect_timeout=_CONNECT_TIMEOUT_S,
            read_timeout=_READ_TIMEOUT_S,
            retries={"mode": "standard", "total_max_attempts": _MAX_ATTEMPTS},
        ),
    )


class SesTransport:
    """Sends with Amazon SES (v2 SendEmail, Simple content, UTF-8)."""

    name = "ses"

    def __init__(self, sender: str) -> None:
        self.sender = sender

    def send(self, message: EmailMessage) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = _ses_client().send_email(
                FromEmailAddress=self.sender,
                Destination={"ToAddresses": [message.to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": one_line(message.subject), "Charset": "UTF-8"},
                        "Body": {"Text": {"Data": message.text, "Charset": "UTF-8"}},
                    }
                },
            )
        except ClientError as exc:
            error = exc.response.get("Error") or {}
            code = str(error.get("Code") or "Unknown")
            detail = mask_addresses(str(error.get("Message") or ""))
            if code in PERMANENT_ERRORS:
                logger.warning(
                    "email rejected by SES, not retried",
                    extra={"to": mask(message.to), "errorCode": code, "reason": detail},
                )
                return
            # Not chained: botocore's message may hold the full address.
            raise EmailNotSent(f"SES refused the email: {code}: {detail}") from None
        except BotoCoreError as exc:
            raise EmailNotSent(f"SES is unreachable: {type(exc).__name__}") from exc
        logger.info(
            "email sent",
            extra={"to": mask(message.to), "messageId": answer.get("MessageId")},
        )


@cache
def transport() -> Transport:
    """The transport the settings choose (validated on first use; ConfigurationError
    names the variable that is wrong)."""
    config = email_settings()
    if config.transport == "ses":
        if config.sender is None:  # EmailSettings.from_env refuses this already
            raise ConfigurationError("environment variable INKWELL_EMAIL_SENDER is not set")
        return SesTransport(config.sender)
    mailbox = os.environ.get(env.EMAIL_MAILBOX, "").strip()
    return LogTransport(config.sender, Path(mailbox) if mailbox else None)


def send(message: EmailMessage) -> None:
    """Send `message` with the configured transport.

    Returns when it was sent (or logged), or refused for good by SES (logged as a
    warning). Raises `EmailNotSent` when trying again may succeed.
    """
    transport().send(message)


def reset() -> None:
    """Forget the settings, transport and SES client, e.g. after the environment changed."""
    transport.cache_clear()
    email_settings.cache_clear()
    _ses_client.cache_clear()
