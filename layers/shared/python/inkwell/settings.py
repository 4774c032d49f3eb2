"""Settings from the environment, validated once at cold start.

A function that is misconfigured fails on its first invocation with a message naming the
variable, instead of failing later in the middle of a request.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import Literal

from inkwell import env


class ConfigurationError(RuntimeError):
    """A required environment variable is missing or malformed."""


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from exc
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be between {low} and {high}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    stage: str
    jwt_issuer: str
    jwt_audience: str
    access_token_ttl_s: int
    refresh_token_ttl_s: int
    bcrypt_rounds: int
    cors_origins: tuple[str, ...]
    login_max_failures: int
    login_failure_window_s: int
    password_reset_ttl_s: int
    password_reset_url: str | None

    @classmethod
    def from_env(cls) -> Settings:
        origins = os.environ.get(env.CORS_ORIGINS, "")
        return cls(
            stage=os.environ.get(env.STAGE, "local"),
            jwt_issuer=os.environ.get(env.JWT_ISSUER, "inkwell"),
            jwt_audience=os.environ.get(env.JWT_AUDIENCE, "inkwell-api"),
            access_token_ttl_s=_int(env.ACCESS_TOKEN_TTL, 900, 60, 3600),
            refresh_token_ttl_s=_int(env.REFRESH_TOKEN_TTL, 14 * 86400, 3600, 90 * 86400),
            bcrypt_rounds=_int(env.BCRYPT_ROUNDS, 12, 4, 16),
            cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
            login_max_failures=_int(env.LOGIN_MAX_FAILURES, 5, 1, 100),
            login_failure_window_s=_int(env.LOGIN_FAILURE_WINDOW, 900, 10, 86400),
            password_reset_ttl_s=_int(env.PASSWORD_RESET_TTL, 1800, 60, 86400),
            password_reset_url=os.environ.get(env.PASSWORD_RESET_URL, "").strip() or None,
        )


@cache
def settings() -> Settings:
    return Settings.from_env()


EmailTransport = Literal["log", "ses"]
EMAIL_TRANSPORTS: tuple[EmailTransport, ...] = ("log", "ses")


@dataclass(frozen=True)
class EmailSettings:
    """How email is sent (see inkwell.email). Kept apart from `Settings`, which every HTTP
    function validates at cold start: a bad email setting fails only the functions that
    send email."""

    transport: EmailTransport
    sender: str | None  # the From address: "no-reply@example.com" or "Inkwell <...>"

    @classmethod
    def from_env(cls) -> EmailSettings:
        raw = os.environ.get(env.EMAIL_TRANSPORT, "")
        transport = next((t for t in EMAIL_TRANSPORTS if t == (raw.strip().lower() or "log")), None)
        if transport is None:
            raise ConfigurationError(
                f"{env.EMAIL_TRANSPORT} must be one of {', '.join(EMAIL_TRANSPORTS)}, got {raw!r}"
            )
        sender = os.environ.get(env.EMAIL_SENDER, "").strip() or None
        if sender is not None:
            # A bare address, or a display name with the address in angle brackets.
            address = sender[sender.rfind("<") + 1 : -1] if sender.endswith(">") else sender
            local, at, domain = address.rpartition("@")
            if not (local and at and "." in domain) or any(c.isspace() for c in address):
                raise ConfigurationError(
                    f"{env.EMAIL_SENDER} must be an email address, got {sender!r}"
                )
        if transport == "ses" and sender is None:
            raise ConfigurationError(
                "environment variable INKWELL_EMAIL_SENDER is not set"
                " (required when INKWELL_EMAIL_TRANSPORT is ses)"
            )
        return cls(transport=transport, sender=sender)


@cache
def email_settings() -> EmailSettings:
    return EmailSettings.from_env()


def required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value
