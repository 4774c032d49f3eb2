"""What the email tests share (their fixtures, email_env and ses, are in tests/conftest.py)."""

from __future__ import annotations

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import Message, ses_backends

REGION = "us-east-1"
SENDER = "no-reply@inkwell.example"


def sent() -> list[Message]:
    """The messages moto's SES accepted."""
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)
