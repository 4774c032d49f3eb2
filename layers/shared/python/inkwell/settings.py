"""Settings from the environment, validated once at cold start.

A function that is misconfigured fails on its first invocation with a message naming the
variable, instead of failing later in the middle of a request.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


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

    @classmethod
    def from_env(cls) -> Settings:
        origins = os.environ.get("INKWELL_CORS_ORIGINS", "")
        return cls(
            stage=os.environ.get("INKWELL_STAGE", "local"),
            jwt_issuer=os.environ.get("INKWELL_JWT_ISSUER", "inkwell"),
            jwt_audience=os.environ.get("INKWELL_JWT_AUDIENCE", "inkwell-api"),
            access_token_ttl_s=_int("INKWELL_ACCESS_TOKEN_TTL", 900, 60, 3600),
            refresh_token_ttl_s=_int("INKWELL_REFRESH_TOKEN_TTL", 14 * 86400, 3600, 90 * 86400),
            bcrypt_rounds=_int("INKWELL_BCRYPT_ROUNDS", 12, 4, 16),
            cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
            login_max_failures=_int("INKWELL_LOGIN_MAX_FAILURES", 5, 1, 100),
            login_failure_window_s=_int("INKWELL_LOGIN_FAILURE_WINDOW", 900, 10, 86400),
        )


@cache
def settings() -> Settings:
    return Settings.from_env()


def required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value
