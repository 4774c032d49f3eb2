"""RDS IAM database authentication tokens, signed in process (no boto3, no network).

A token is a SigV4-presigned ``connect`` request for service ``rds-db``, valid for 15
minutes, used as the PostgreSQL password when connecting to RDS Proxy (or an instance)
as a user granted ``rds_iam``. The same token as botocore's
``rds.generate_db_auth_token`` (tested). Tokens are cached per (host, port, user) and
signed again a few minutes before they expire: a token only has to be valid when a
connection is opened.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

from inkwell import sigv4

SERVICE = "rds-db"
LIFETIME_S = 900  # the longest RDS accepts
_RENEW_BEFORE_S = 300

_cache: dict[tuple[str, int, str, str], tuple[float, str]] = {}
_lock = threading.Lock()


def generate_token(
    host: str,
    port: int,
    user: str,
    *,
    region_name: str | None = None,
    credentials: sigv4.Credentials | None = None,
    now: dt.datetime | None = None,
) -> str:
    """``host:port/?Action=connect&DBUser=...&X-Amz-...``, as botocore writes it."""
    netloc = f"{host}:{port}"
    query = sigv4.presigned_query(
        host=netloc,
        params={"Action": "connect", "DBUser": user},
        service=SERVICE,
        region_name=region_name or sigv4.region(),
        credentials=credentials or sigv4.Credentials.from_env(),
        expires_s=LIFETIME_S,
        now=now,
    )
    return f"{netloc}/?{query}"


def token(host: str, port: int, user: str) -> str:
    """A token valid for at least a few more minutes, signed again when needed."""
    credentials = sigv4.Credentials.from_env()
    key = (host, port, user, credentials.access_key)
    now = time.time()
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        value = generate_token(
            host, port, user, credentials=credentials, now=dt.datetime.fromtimestamp(now, dt.UTC)
        )
        _cache[key] = (now + LIFETIME_S - _RENEW_BEFORE_S, value)
        return value


def forget() -> None:
    with _lock:
        _cache.clear()
