"""Deployment settings, read from CDK context (``cdk.json`` or ``cdk synth -c key=value``).

Every value has a default, so ``cdk synth`` needs nothing but ``cdk.json``. The ``stage``
decides the safety defaults: ``prod`` keeps its databases (deletion protection, snapshot on
removal, Multi-AZ, longer backups); any other stage is disposable.

Context keys (all optional):

- ``stage``: deployment stage name, also the API Gateway stage (default ``dev``).
- ``corsOrigins``: list of allowed browser origins, or a comma-separated string
  (default ``["http://localhost:3000"]``, the local web client; set the real site for prod).
- ``jwtIssuer`` / ``jwtAudience``: JWT ``iss`` / ``aud`` (default ``inkwell`` / ``inkwell-api``).
- ``dbInstanceClass``: RDS instance class without the ``db.`` prefix (default ``t4g.micro``).
- ``deletionProtection``, ``snapshotOnRemoval``, ``multiAz``: booleans, default ``stage == prod``.
- ``backupRetentionDays``: automated backup retention (default 7, 14 for prod).
- ``logRetentionDays``: CloudWatch Logs retention of every function (default 30).
- ``wafCredentialsLimit``: requests per source IP per window to the credential routes (100).
- ``wafGeneralLimit``: requests per source IP per window to any route (2000).
- ``wafWindowSeconds``: rate-based rule evaluation window: 60, 120, 300 or 600 (300).
- ``eventArchiveRetentionDays``: how long the event bus archive keeps events for replay
  (default 30).
- ``alarmEmail``: if set, every alarm notifies an SNS topic with this address subscribed
  (default: no topic, alarms only change state).
- ``emailSender``: the From of the email the platform sends, an address
  (``no-reply@blog.example.com``) or a display name and an address
  (``Inkwell <no-reply@blog.example.com>``; ASCII only). Set, it turns on Amazon SES: the
  functions with ``Access.EMAIL`` get ``INKWELL_EMAIL_TRANSPORT=ses`` and
  ``INKWELL_EMAIL_SENDER``, may ``ses:SendEmail``/``ses:SendRawEmail`` as that address only
  (the SES identity of the address or of its domain, ``ses:FromAddress`` = the address),
  and in-VPC ones reach SES through an interface endpoint. The identity must be verified in
  SES in the stack's region, and the account out of the SES sandbox to mail anyone (in the
  sandbox SES also checks the recipients' identities, which this grant does not cover).
  Default: unset, email goes to the functions' logs (``INKWELL_EMAIL_TRANSPORT=log``), no
  SES permission, no endpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from constructs import Node

PROD_STAGE = "prod"
DEFAULT_STAGE = "dev"
DEFAULT_CORS_ORIGINS: tuple[str, ...] = ("http://localhost:3000",)
WAF_WINDOWS = (60, 120, 300, 600)


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _as_origins(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    else:
        items = [str(part).strip() for part in value]
    origins = tuple(item for item in items if item)
    if not origins:
        raise ValueError("corsOrigins must name at least one origin (or '*')")
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
    if not _is_email_address(text):
        raise ValueError(f"alarmEmail is not an email address: {value!r}")
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
            raise ValueError(f"emailSender: '>' without '<': {value!r}")
        name, address = text[:start], text[start + 1 : -1]
    if not _is_email_address(address):
        raise ValueError(f"emailSender is not an email address or 'Name <address>': {value!r}")
    if any(c in "<>" or not " " <= c <= "~" for c in name):
        raise ValueError(
            f"emailSender: the display name must be printable ASCII without <>: {value!r}"
        )
    return text


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
            raise ValueError(f"stage must be alphanumeric (dashes allowed): {stage!r}")
        prod = stage == PROD_STAGE
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
            email_sender=get("emailSender", None, _as_optional_sender),
        )
        if config.waf_window_seconds not in WAF_WINDOWS:
            raise ValueError(f"wafWindowSeconds must be one of {WAF_WINDOWS}")
        if config.event_archive_retention_days < 1:
            raise ValueError("eventArchiveRetentionDays must be at least 1")
        return config
