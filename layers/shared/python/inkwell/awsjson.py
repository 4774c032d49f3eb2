"""A minimal AWS JSON 1.1 client: SigV4-signed HTTPS POSTs with the standard library.

Used where boto3's import and client creation (150-250 ms of cold start, measured with
``python -c "import boto3; boto3.client('events')"``) would sit on the request path:
EventBridge PutEvents (inkwell.eventbridge) and Secrets Manager GetSecretValue
(inkwell.secrets). The endpoint honours ``AWS_ENDPOINT_URL_<SERVICE>`` and
``AWS_ENDPOINT_URL`` like the AWS SDKs, which is how the local event bus and moto's
server stand in for AWS off AWS.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import threading
from typing import Any
from urllib.parse import urlsplit

from inkwell import sigv4

CONTENT_TYPE = "application/x-amz-json-1.1"


class AwsCallFailed(Exception):
    """The call did not reach the service, or the service refused it."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


def endpoint(endpoint_id: str, hostname_prefix: str, region_name: str) -> str:
    """``AWS_ENDPOINT_URL_<ID>`` or ``AWS_ENDPOINT_URL``, else the public endpoint."""
    return (
        os.environ.get(f"AWS_ENDPOINT_URL_{endpoint_id}")
        or os.environ.get("AWS_ENDPOINT_URL")
        or f"https://{hostname_prefix}.{region_name}.amazonaws.com"
    )


class AwsJsonClient:
    """One service's JSON 1.1 API over one kept-alive HTTPS connection."""

    def __init__(
        self,
        *,
        signing_name: str,
        target_prefix: str,
        endpoint_id: str,
        hostname_prefix: str | None = None,
        region_name: str | None = None,
        timeout_s: float = 3.0,
    ) -> None:
        self.signing_name = signing_name
        self.target_prefix = target_prefix
        self.region = region_name or sigv4.region()
        self.url = endpoint(endpoint_id, hostname_prefix or signing_name, self.region)
        self.timeout_s = timeout_s
        self._conn: http.client.HTTPConnection | None = None
        # One request/response at a time: http.client connections are not thread-safe,
        # and the local platform runs execution environments on threads of one process.
        self._lock = threading.RLock()

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            parts = urlsplit(self.url)
            if parts.scheme == "https":
                self._conn = http.client.HTTPSConnection(
                    parts.netloc, timeout=self.timeout_s, context=ssl.create_default_context()
                )
            else:
                self._conn = http.client.HTTPConnection(parts.netloc, timeout=self.timeout_s)
        return self._conn

    def call(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The parsed JSON answer of `operation`; AwsCallFailed when there is none."""
        body = json.dumps(payload).encode()
        try:
            credentials = sigv4.Credentials.from_env()
        except sigv4.MissingCredentials as exc:
            raise AwsCallFailed(str(exc)) from exc
        parts = urlsplit(self.url)
        headers = sigv4.signed_headers(
            method="POST",
            host=parts.netloc,
            path=parts.path or "/",
            headers={
                "content-type": CONTENT_TYPE,
                "x-amz-target": f"{self.target_prefix}.{operation}",
            },
            body=body,
            service=self.signing_name,
            region_name=self.region,
            credentials=credentials,
        )
        with self._lock:
            for attempt in (1, 2):  # a kept-alive connection may have closed while frozen
                try:
                    conn = self._connection()
                    conn.request("POST", parts.path or "/", body=body, headers=headers)
                    response = conn.getresponse()
                    answer = response.read()
                    break
                except (OSError, http.client.HTTPException) as exc:
                    self.close()
                    if attempt == 2:
                        raise AwsCallFailed(f"{operation} failed: {type(exc).__name__}") from exc
        try:
            parsed = json.loads(answer) if answer else {}
        except ValueError:
            parsed = {}
        if response.status != 200:
            code = str(parsed.get("__type", "")).rpartition("#")[2] or None
            raise AwsCallFailed(
                f"{operation} answered HTTP {response.status} ({code})", response.status, code
            )
        if not isinstance(parsed, dict):
            raise AwsCallFailed(f"{operation} answered something other than a JSON object")
        return parsed

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
