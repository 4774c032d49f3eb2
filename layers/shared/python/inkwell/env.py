"""The names of the environment variables the functions read, and of the database users.

Defined once, here, and used by the shared layer (which reads them), the CDK app (which
sets them on AWS) and the local platform (which sets them under ``make run`` and in the
tests). Plain constants and functions, no imports: the CDK app imports this module too.
"""

from __future__ import annotations

import re

# --- every function -------------------------------------------------------------------
STAGE = "INKWELL_STAGE"
JWT_ISSUER = "INKWELL_JWT_ISSUER"
JWT_AUDIENCE = "INKWELL_JWT_AUDIENCE"
CORS_ORIGINS = "INKWELL_CORS_ORIGINS"

# --- limits and timings (defaults and bounds in inkwell.settings) -----------------------
ACCESS_TOKEN_TTL = "INKWELL_ACCESS_TOKEN_TTL"
REFRESH_TOKEN_TTL = "INKWELL_REFRESH_TOKEN_TTL"
BCRYPT_ROUNDS = "INKWELL_BCRYPT_ROUNDS"
LOGIN_MAX_FAILURES = "INKWELL_LOGIN_MAX_FAILURES"
LOGIN_FAILURE_WINDOW = "INKWELL_LOGIN_FAILURE_WINDOW"
# The relay leaves rows younger than this to the request that wrote them; published rows
# and processed-event ids are deleted after the retention (inkwell.relay).
OUTBOX_GRACE_SECONDS = "INKWELL_OUTBOX_GRACE_SECONDS"
OUTBOX_RETENTION_SECONDS = "INKWELL_OUTBOX_RETENTION_SECONDS"

# --- observability (Powertools reads its own names; inkwell.observability) --------------
POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
POWERTOOLS_METRICS_DISABLED = "POWERTOOLS_METRICS_DISABLED"
LOG_LEVEL = "LOG_LEVEL"
# "true": patch the AWS SDK with the X-Ray SDK (traces of boto3 calls).
XRAY_SDK = "INKWELL_XRAY_SDK"

# --- token signing keys (ES256, each with a ``kid``) ----------------------------------
# The public keys that verify access tokens, as a JWKS JSON document
# (``{"keys": [{"kty": "EC", "crv": "P-256", "kid": ..., "x": ..., "y": ...}, ...]}``):
# the current key and, during a rotation, the previous one. Public, so it travels in the
# environment of every function that verifies (the authorizer): no secret fetch.
JWT_PUBLIC_KEYS = "INKWELL_JWT_PUBLIC_KEYS"
# The private signing key set. Locally the JSON itself; on AWS the ARN of the Secrets
# Manager secret holding it, readable only by the functions that sign (login, refresh).
# JSON: ``{"current": <private JWK with kid>, "previous": <private JWK> | null}``.
JWT_PRIVATE_KEYS = "INKWELL_JWT_PRIVATE_KEYS"
JWT_PRIVATE_KEYS_SECRET_ARN = "INKWELL_JWT_PRIVATE_KEYS_SECRET_ARN"

# --- events and email -----------------------------------------------------------------
EVENT_BUS_NAME = "INKWELL_EVENT_BUS_NAME"
EMAIL_TRANSPORT = "INKWELL_EMAIL_TRANSPORT"
EMAIL_SENDER = "INKWELL_EMAIL_SENDER"
# The log transport also writes each whole message (secrets included: a password reset's
# token) as a file into this directory; `make run` points it at <data dir>/mailbox.
EMAIL_MAILBOX = "INKWELL_EMAIL_MAILBOX"

# --- password reset -----------------------------------------------------------------------
# Seconds a reset token stays usable (default 1800).
PASSWORD_RESET_TTL = "INKWELL_PASSWORD_RESET_TTL"
# The page of the web app that takes a reset token; the email links to it with
# ``?token=...``. Unset: the email gives the token itself.
PASSWORD_RESET_URL = "INKWELL_PASSWORD_RESET_URL"

# --- databases --------------------------------------------------------------------------
# "verify-full": TLS, the server certificate verified against the system trust store
# (or, when DB_CA_BUNDLE is set, against that bundle only).
DB_TLS = "INKWELL_DB_TLS"
# A PEM file of the certificate authorities that sign the database server's certificate.
# On AWS: the Amazon RDS CAs shipped in the layer, for the maintenance functions, which
# connect to the instance itself (RDS Proxy presents a publicly trusted certificate).
DB_CA_BUNDLE = "INKWELL_DB_CA_BUNDLE"
# How functions authenticate to PostgreSQL: "password" (the password in the URL, or none:
# local) or "iam" (an RDS IAM authentication token signed in process: AWS, RDS Proxy).
DB_AUTH = "INKWELL_DB_AUTH"
DB_AUTH_IAM = "iam"


def domain_key(domain: str) -> str:
    """``users`` -> ``USERS``: the domain part of ``INKWELL_<DOMAIN>_DB_*``."""
    return re.sub(r"[^A-Za-z0-9]", "_", domain).upper()


def db_url(domain: str) -> str:
    """Locally: ``postgresql://user[:password]@host:port/dbname`` of the domain's database."""
    return f"INKWELL_{domain_key(domain)}_DB_URL"


def db_host(domain: str) -> str:
    """On AWS: the RDS Proxy endpoint of the domain's database."""
    return f"INKWELL_{domain_key(domain)}_DB_HOST"


def db_port(domain: str) -> str:
    return f"INKWELL_{domain_key(domain)}_DB_PORT"


def db_name(domain: str) -> str:
    return f"INKWELL_{domain_key(domain)}_DB_NAME"


def db_user(domain: str) -> str:
    """The database user the function connects as: the domain's application user, or
    (the maintenance function only) its owner."""
    return f"INKWELL_{domain_key(domain)}_DB_USER"


def db_master_secret_arn(domain: str) -> str:
    """Maintenance function only: the RDS master secret, used to create the domain's
    owner and application users when they do not exist yet (first deploy)."""
    return f"INKWELL_{domain_key(domain)}_DB_MASTER_SECRET_ARN"


def db_instance_host(domain: str) -> str:
    """Maintenance function only: the instance endpoint (migrations bypass the proxy)."""
    return f"INKWELL_{domain_key(domain)}_DB_INSTANCE_HOST"


# --- the local platform's own settings (read by `make run` and its tools, not by functions)
DATA_DIR = "INKWELL_DATA_DIR"
RUN_RECORD = "INKWELL_RUN_RECORD"
DATABASE_URL = "INKWELL_DATABASE_URL"
ADMIN_USERNAME = "INKWELL_ADMIN_USERNAME"
ADMIN_EMAIL = "INKWELL_ADMIN_EMAIL"
ADMIN_PASSWORD = "INKWELL_ADMIN_PASSWORD"
URL = "INKWELL_URL"
# The CDK app: the Python that builds the layer bundle.
BUILD_PYTHON = "INKWELL_BUILD_PYTHON"


# --- database users (PostgreSQL roles) ---------------------------------------------------
def owner_user(domain: str) -> str:
    """Owns the domain's schema; runs the migrations (DDL). Used by maintenance only."""
    return f"{domain.replace('-', '_')}_owner"


def app_user(domain: str) -> str:
    """What every other function of the domain connects as: DML on its tables only."""
    return f"{domain.replace('-', '_')}_app"
