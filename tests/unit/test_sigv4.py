"""inkwell.sigv4 and inkwell.rds_iam: signatures and IAM database tokens equal botocore's."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from inkwell import rds_iam, sigv4
from inkwell.awsjson import CONTENT_TYPE

ACCESS_KEY, SECRET_KEY = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
FROZEN = dt.datetime(2026, 3, 1, 12, 0, 5, tzinfo=dt.UTC)
TARGET = "AWSEvents.PutEvents"


@pytest.mark.parametrize(
    ("url", "region", "token"),
    [
        ("https://events.eu-west-1.amazonaws.com", "eu-west-1", None),
        ("https://events.us-east-1.amazonaws.com/", "us-east-1", "FwoGZXIvYXdzE-session/token=="),
        ("http://127.0.0.1:4566/_aws/events", "us-east-1", None),
        ("http://localhost:8000/_aws/events", "ap-southeast-2", "session-token"),
    ],
    ids=["aws", "aws-session-token", "local-path-and-port", "local-session-token"],
)
def test_signed_headers_equal_botocore_sigv4(url: str, region: str, token: str | None) -> None:
    body = b'{"Entries": [{"Detail": "caf\\u00e9"}]}'
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET},
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=FROZEN.replace(tzinfo=None)):
        SigV4Auth(BotoCredentials(ACCESS_KEY, SECRET_KEY, token), "events", region).add_auth(
            request
        )
    host = url.split("/")[2]
    path = "/" + url.split("/", 3)[3] if url.count("/") > 2 else "/"
    ours = sigv4.signed_headers(
        method="POST",
        host=host,
        path=path.rstrip("/") or "/",
        headers={"content-type": CONTENT_TYPE, "x-amz-target": TARGET},
        body=body,
        service="events",
        region_name=region,
        credentials=sigv4.Credentials(ACCESS_KEY, SECRET_KEY, token),
        now=FROZEN,
    )
    assert ours["authorization"] == request.headers["Authorization"]
    assert ours["x-amz-date"] == request.headers["X-Amz-Date"] == "20260301T120005Z"
    assert ours.get("x-amz-security-token") == token


def test_signature_depends_on_body_time_and_secret() -> None:
    def auth(body: bytes = b"{}", now: dt.datetime = FROZEN, secret: str = "s1") -> str:
        return sigv4.signed_headers(
            method="POST",
            host="events.us-east-1.amazonaws.com",
            path="/",
            headers={"content-type": CONTENT_TYPE, "x-amz-target": TARGET},
            body=body,
            service="events",
            region_name="us-east-1",
            credentials=sigv4.Credentials("AK", secret),
            now=now,
        )["authorization"]

    base = auth()
    assert base.startswith("AWS4-HMAC-SHA256 Credential=AK/20260301/us-east-1/events/aws4_request,")
    assert "SignedHeaders=content-type;host;x-amz-date;x-amz-target," in base
    assert auth(body=b'{"Entries":[]}') != base
    assert auth(now=FROZEN + dt.timedelta(seconds=1)) != base
    assert auth(secret="s2") != base


@pytest.mark.parametrize(
    ("host", "port", "user", "region", "token"),
    [
        (
            "inkwell-users.proxy-abc.eu-west-1.rds.amazonaws.com",
            5432,
            "users_app",
            "eu-west-1",
            None,
        ),
        (
            "inkwell-users.proxy-abc.eu-west-1.rds.amazonaws.com",
            5432,
            "users_app",
            "eu-west-1",
            "IQoJb3JpZ2luX2VjE/session+token==",
        ),
        ("db.internal", 6543, "content_owner", "us-east-1", "tok"),
    ],
    ids=["proxy", "proxy-session-token", "other-port-and-user"],
)
def test_rds_token_equals_botocore_generate_db_auth_token(
    host: str, port: int, user: str, region: str, token: str | None
) -> None:
    rds = boto3.client(
        "rds",
        region_name=region,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=token,
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=FROZEN.replace(tzinfo=None)):
        theirs = rds.generate_db_auth_token(host, port, user)
    ours = rds_iam.generate_token(
        host,
        port,
        user,
        region_name=region,
        credentials=sigv4.Credentials(ACCESS_KEY, SECRET_KEY, token),
        now=FROZEN,
    )
    assert ours == theirs
    assert "X-Amz-Expires=900" in ours


def test_rds_token_is_cached_then_signed_again_before_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rds_iam.forget()
    clock = [1_000_000.0]
    monkeypatch.setattr(rds_iam.time, "time", lambda: clock[0])
    first = rds_iam.token("proxy.example", 5432, "users_app")
    assert rds_iam.token("proxy.example", 5432, "users_app") is first
    assert rds_iam.token("proxy.example", 5432, "content_app") != first
    clock[0] += rds_iam.LIFETIME_S - 60  # a minute before it expires: too late to use
    later = rds_iam.generate_token(
        "proxy.example", 5432, "users_app", now=dt.datetime.fromtimestamp(clock[0], dt.UTC)
    )
    assert rds_iam.token("proxy.example", 5432, "users_app") == later != first
    rds_iam.forget()


def test_connecting_with_iam_imports_no_boto3() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]

    code = (
        "import sys, os\n"
        "os.environ.update({'INKWELL_DB_AUTH': 'iam', 'INKWELL_USERS_DB_HOST': 'proxy.invalid',"
        " 'AWS_ACCESS_KEY_ID': 'AK', 'AWS_SECRET_ACCESS_KEY': 'SK'})\n"
        "from inkwell.db import ConnectionParams\n"
        "params = ConnectionParams.for_domain('users')\n"
        "assert params.iam and params.user == 'users_app' and params.tls\n"
        "assert params.secret_password().startswith('proxy.invalid:5432/?Action=connect')\n"
        "assert 'boto3' not in sys.modules and 'botocore.client' not in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("INKWELL_")},
            "PYTHONPATH": "functions:layers/shared/python:.",
        },
    )
    assert done.returncode == 0, done.stderr
