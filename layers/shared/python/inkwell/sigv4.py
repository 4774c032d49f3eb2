"""AWS Signature Version 4 with the standard library: signed headers and presigned URLs.

One signer for the few AWS calls made on the request path without boto3 (EventBridge
PutEvents, Secrets Manager GetSecretValue: see inkwell.awsjson) and for RDS IAM
authentication tokens (inkwell.rds_iam). Importing boto3 and creating a client costs
150-250 ms of cold start; signing a request costs microseconds.

Credentials come from the variables Lambda sets (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN) and the region from AWS_REGION / AWS_DEFAULT_REGION.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
from dataclasses import dataclass
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
# The payload of a presigned GET is empty; botocore signs its hash (not UNSIGNED-PAYLOAD)
# for RDS tokens, and RDS checks the signature that way.
_EMPTY_PAYLOAD_HASH = hashlib.sha256(b"").hexdigest()


class MissingCredentials(Exception):
    """No AWS credentials in the environment."""


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    session_token: str | None = None

    @classmethod
    def from_env(cls) -> Credentials:
        access_key = os.environ.get("AWS_ACCESS_KEY_ID", "")
        secret_key = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
        if not access_key or not secret_key:
            raise MissingCredentials("no AWS credentials in the environment")
        return cls(access_key, secret_key, os.environ.get("AWS_SESSION_TOKEN") or None)


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _signature(secret_key: str, day: str, region_name: str, service: str, to_sign: str) -> str:
    key = _hmac(
        _hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), day), region_name), service), "aws4_request"
    )
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _string_to_sign(amz_date: str, scope: str, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode()).hexdigest()
    return "\n".join([ALGORITHM, amz_date, scope, digest])


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


def signed_headers(
    *,
    method: str,
    host: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    service: str,
    region_name: str,
    credentials: Credentials,
    now: dt.datetime | None = None,
) -> dict[str, str]:
    """`headers` plus host, x-amz-date, the session token and the authorization header."""
    amz_date = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    all_headers = {name.lower(): value for name, value in headers.items()}
    all_headers.update({"host": host, "x-amz-date": amz_date})
    if credentials.session_token:
        all_headers["x-amz-security-token"] = credentials.session_token
    names = sorted(all_headers)
    canonical = "\n".join(
        [
            method,
            path or "/",
            "",
            "".join(f"{name}:{all_headers[name].strip()}\n" for name in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region_name}/{service}/aws4_request"
    signature = _signature(
        credentials.secret_key,
        day,
        region_name,
        service,
        _string_to_sign(amz_date, scope, canonical),
    )
    all_headers["authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return all_headers


def presigned_query(
    *,
    host: str,
    params: dict[str, str],
    service: str,
    region_name: str,
    credentials: Credentials,
    expires_s: int,
    now: dt.datetime | None = None,
) -> str:
    """The query string of a presigned GET of ``https://<host>/`` (signed header: host),
    the signature last, as botocore's SigV4QueryAuth writes it."""
    amz_date = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    scope = f"{day}/{region_name}/{service}/aws4_request"
    query = dict(params)
    query.update(
        {
            "X-Amz-Algorithm": ALGORITHM,
            "X-Amz-Credential": f"{credentials.access_key}/{scope}",
            "X-Amz-Date": amz_date,
            "X-Amz-Expires": str(expires_s),
            "X-Amz-SignedHeaders": "host",
        }
    )
    if credentials.session_token:
        query["X-Amz-Security-Token"] = credentials.session_token
    canonical_query = "&".join(
        f"{_encode(name)}={_encode(value)}" for name, value in sorted(query.items())
    )
    canonical = "\n".join(
        ["GET", "/", canonical_query, f"host:{host}\n", "host", _EMPTY_PAYLOAD_HASH]
    )
    signature = _signature(
        credentials.secret_key,
        day,
        region_name,
        service,
        _string_to_sign(amz_date, scope, canonical),
    )
    ordered = "&".join(f"{_encode(name)}={_encode(value)}" for name, value in query.items())
    return f"{ordered}&X-Amz-Signature={signature}"
