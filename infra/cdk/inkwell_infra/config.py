"""Deployment settings, read from CDK context (``cdk.json`` or ``cdk synth -c key=value``).

Every setting is documented, with its default, in the settings table of ``docs/deploy.md``
(keep the two in step). The ``stage`` decides the safety defaults: ``prod`` keeps its
databases (deletion protection, snapshot on removal, Multi-AZ, longer backups), turns on
VPC flow logs and refuses to synthesize without the settings a production deployment must
choose on purpose: ``alarmEmail`` (or ``alarmEmail=none``), ``corsOrigins`` (not the local
web client), ``emailSender`` (or ``email=log``) and ``passwordResetUrl`` (or
``passwordResetUrl=none``). Any other stage is disposable and
gets development defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from constructs import Node

from infra.cdk.inkwell_infra.runtime import LambdaPlatform


class SettingsError(ValueError):
    """A setting is missing or invalid: the message says which and what to do."""


PROD_STAGE = "prod"
# alarmEmail=none: a production deployment that routes its alarm topic elsewhere itself.
NO_ALARM_EMAIL = "none"
EMAIL_TRANSPORTS = ("ses", "log")
DEFAULT_LAMBDA_RUNTIME = "python3.13"
LAMBDA_ARCHITECTURES = ("arm64", "x86_64")
DEFAULT_STAGE = "dev"
DEFAULT_CORS_ORIGINS: tuple[str, ...] = ("http://localhost:3000",)
WAF_WINDOWS = (60, 120, 300, 600)
# passwordResetUrl=none: the reset email gives the token itself (no web page takes it).
NO_PASSWORD_RESET_URL = "none"
# The range inkwell.settings accepts for INKWELL_PASSWORD_RESET_TTL (60..86400 s).
PASSWORD_RESET_TTL_MINUTES = (1, 1440)
DEFAULT_PASSWORD_RESET_TTL_MINUTES = 30


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"not a boolean: {value!r}")


def _as_origins(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    else:
        items = [str(part).strip() for part in value]
    origins = tuple(item for item in items if item)
    if not origins:
        raise SettingsError("corsOrigins must name at least one origin (or '*')")
    return origins


def _is_email_address(text: str) -> bool:
    local, at, domain = text.partition("@")
    return (
        bool(local and at and "." in domain)
        and not domain.startswith(".")
        and not domain.endswith(".")
        and not any(c.isspace() or c in "@<>" for c in local + domain)
    )


def _as_optional_email(value: Any) -> str | None:
    text = str(value).strip()
    if not text:
        return None
    if text.lower() == NO_ALARM_EMAIL:
        return NO_ALARM_EMAIL
    if not _is_email_address(text):
        raise SettingsError(f"alarmEmail is not an email address: {value!r}")
    return text


def sender_address(sender: str) -> str:
    """The address of a From value: ``Inkwell <no-reply@x.example>`` -> ``no-reply@x.example``
    (as ``inkwell.settings.EmailSettings`` reads it on Lambda)."""
    return sender[sender.rfind("<") + 1 : -1] if sender.endswith(">") else sender


def _as_optional_sender(value: Any) -> str | None:
    """``emailSender``: ``address`` or ``Display Name <address>``; empty means unset."""
    text = str(value).strip()
    if not text:
        return None
    name, address = "", text
    if text.endswith(">"):
        start = text.rfind("<")
        if start < 0:
            raise SettingsError(f"emailSender: '>' without '<': {value!r}")
        name, address = text[:start], text[start + 1 : -1]
    if not _is_email_address(address):
        raise SettingsError(f"emailSender is not an email address or 'Name <address>': {value!r}")
    if any(c in "<>" or not " " <= c <= "~" for c in name):
        raise SettingsError(
            f"emailSender: the display name must be printable ASCII without <>: {value!r}"
        )
    return text


def _as_optional_reset_url(value: Any) -> str | None:
    """``passwordResetUrl``: an https page (http only for localhost), or ``none``."""
    text = str(value).strip()
    if not text or text.lower() == NO_PASSWORD_RESET_URL:
        return None
    parts = urlsplit(text)
    local = parts.hostname in ("localhost", "127.0.0.1")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise SettingsError(
            f"passwordResetUrl must be an https:// URL (http only for localhost): {value!r}"
        )
    if not parts.hostname or parts.fragment or any(c.isspace() for c in text):
        raise SettingsError(f"passwordResetUrl is not a usable URL: {value!r}")
    return text


def _as_reset_ttl_minutes(value: Any) -> int:
    low, high = PASSWORD_RESET_TTL_MINUTES
    try:
        minutes = int(str(value).strip())
    except ValueError:
        raise SettingsError(f"passwordResetTtlMinutes must be a number: {value!r}") from None
    if not low <= minutes <= high:
        raise SettingsError(f"passwordResetTtlMinutes must be {low}..{high}: {value!r}")
    return minutes


@dataclass(frozen=True)
class InkwellConfig:
    stage: str = DEFAULT_STAGE
    cors_origins: tuple[str, ...] = DEFAULT_CORS_ORIGINS
    jwt_issuer: str = "inkwell"
    jwt_audience: str = "inkwell-api"
    db_instance_class: str = "t4g.micro"
    deletion_protection: bool = False
    snapshot_on_removal: bool = False
    multi_az: bool = False
    backup_retention_days: int = 7
    log_retention_days: int = 30
    waf_credentials_limit: int = 100
    waf_general_limit: int = 2000
    waf_window_seconds: int = 300
    event_archive_retention_days: int = 30
    alarm_email: str | None = None
    email_sender: str | None = None
    lambda_runtime: str = DEFAULT_LAMBDA_RUNTIME
    lambda_architecture: str = "arm64"
    jwt_key_generation: str = "1"
    flow_logs: bool = False
    # The web page the reset email links to (``<url>?token=...``); None: the token itself.
    password_reset_url: str | None = None
    password_reset_ttl_minutes: int = DEFAULT_PASSWORD_RESET_TTL_MINUTES

    @property
    def platform(self) -> LambdaPlatform:
        """The Lambda runtime and architecture every function and the layer use."""
        return LambdaPlatform(self.lambda_runtime, self.lambda_architecture)

    @property
    def alarm_subscriber(self) -> str | None:
        """The address the alarm topic mails, or None (unset, or ``alarmEmail=none``)."""
        return None if self.alarm_email in (None, NO_ALARM_EMAIL) else self.alarm_email

    @property
    def email_sender_address(self) -> str | None:
        """The address of ``email_sender`` (no display name), or None when SES is off."""
        return sender_address(self.email_sender) if self.email_sender else None

    @property
    def email_sender_domain(self) -> str | None:
        address = self.email_sender_address
        return address.rpartition("@")[2] if address else None

    @property
    def is_prod(self) -> bool:
        return self.stage == PROD_STAGE

    @property
    def name_prefix(self) -> str:
        """Prefix of every physical name (functions, API, WAF): ``inkwell-<stage>``."""
        return f"inkwell-{self.stage}"

    @classmethod
    def from_node(cls, node: Node) -> InkwellConfig:
        """Read the settings from the context visible at ``node``."""

        def get(key: str, default: Any, convert: Callable[[Any], Any] = str) -> Any:
            value = node.try_get_context(key)
            return default if value is None else convert(value)

        stage = str(get("stage", DEFAULT_STAGE)).strip()
        if not stage.replace("-", "").isalnum():
            raise SettingsError(f"stage must be alphanumeric (dashes allowed): {stage!r}")
        prod = stage == PROD_STAGE
        if prod:
            _require_production_choices(node)
        sender = get("emailSender", None, _as_optional_sender)
        transport = str(get("email", "ses" if sender else "log")).strip()
        if transport not in EMAIL_TRANSPORTS:
            raise SettingsError(f"email must be one of {EMAIL_TRANSPORTS}: {transport!r}")
        if transport == "ses" and not sender:
            raise SettingsError("email=ses needs emailSender (the From address, verified in SES)")
        architecture = str(get("lambdaArchitecture", "arm64")).strip()
        if architecture not in LAMBDA_ARCHITECTURES:
            raise SettingsError(f"lambdaArchitecture must be one of {LAMBDA_ARCHITECTURES}")
        config = cls(
            stage=stage,
            cors_origins=get("corsOrigins", DEFAULT_CORS_ORIGINS, _as_origins),
            jwt_issuer=get("jwtIssuer", "inkwell"),
            jwt_audience=get("jwtAudience", "inkwell-api"),
            db_instance_class=get("dbInstanceClass", "t4g.micro"),
            deletion_protection=get("deletionProtection", prod, _as_bool),
            snapshot_on_removal=get("snapshotOnRemoval", prod, _as_bool),
            multi_az=get("multiAz", prod, _as_bool),
            backup_retention_days=get("backupRetentionDays", 14 if prod else 7, int),
            log_retention_days=get("logRetentionDays", 30, int),
            waf_credentials_limit=get("wafCredentialsLimit", 100, int),
            waf_general_limit=get("wafGeneralLimit", 2000, int),
            waf_window_seconds=get("wafWindowSeconds", 300, int),
            event_archive_retention_days=get("eventArchiveRetentionDays", 30, int),
            alarm_email=get("alarmEmail", None, _as_optional_email),
            email_sender=sender if transport == "ses" else None,
            lambda_runtime=str(get("lambdaRuntime", DEFAULT_LAMBDA_RUNTIME)).strip(),
            lambda_architecture=architecture,
            jwt_key_generation=str(get("jwtKeyGeneration", "1")).strip(),
            flow_logs=get("flowLogs", prod, _as_bool),
            password_reset_url=get("passwordResetUrl", None, _as_optional_reset_url),
            password_reset_ttl_minutes=get(
                "passwordResetTtlMinutes",
                DEFAULT_PASSWORD_RESET_TTL_MINUTES,
                _as_reset_ttl_minutes,
            ),
        )
        try:
            config.platform  # noqa: B018 - validates lambdaRuntime / lambdaArchitecture
        except ValueError as error:
            raise SettingsError(str(error)) from None
        if not config.jwt_key_generation:
            raise SettingsError("jwtKeyGeneration must not be empty")
        if config.waf_window_seconds not in WAF_WINDOWS:
            raise SettingsError(f"wafWindowSeconds must be one of {WAF_WINDOWS}")
        if config.event_archive_retention_days < 1:
            raise SettingsError("eventArchiveRetentionDays must be at least 1")
        return config


def _require_production_choices(node: Node) -> None:
    """``stage=prod`` inherits nothing made for development: refuse to synthesize until
    each of these is chosen explicitly (the message says how)."""
    missing = []
    if node.try_get_context("alarmEmail") in (None, ""):
        missing.append(
            "alarmEmail: where alarms go (-c alarmEmail=oncall@example.com), or "
            "-c alarmEmail=none to subscribe to the alarm topic yourself"
        )
    origins = node.try_get_context("corsOrigins")
    if origins in (None, "", []) or _as_origins(origins) == DEFAULT_CORS_ORIGINS:
        missing.append(
            "corsOrigins: the web client's origin(s) (-c corsOrigins=https://blog.example.com),"
            " not the local development default"
        )
    if node.try_get_context("emailSender") in (None, "") and node.try_get_context("email") != "log":
        missing.append(
            "emailSender: the SES-verified From address (-c emailSender=no-reply@example.com),"
            " or -c email=log to keep email in the function logs"
        )
    if node.try_get_context("passwordResetUrl") in (None, ""):
        missing.append(
            "passwordResetUrl: the web page reset emails link to"
            " (-c passwordResetUrl=https://blog.example.com/reset-password), or"
            " -c passwordResetUrl=none to email the token itself"
        )
    if missing:
        raise SettingsError(
            "stage=prod needs these settings (see docs/deploy.md):\n  - " + "\n  - ".join(missing)
        )
