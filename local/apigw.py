"""API Gateway (REST API, Lambda proxy) semantics, for running functions off AWS.

Builds the exact event shapes API Gateway sends: the proxy request event a function
receives, and the TOKEN / REQUEST events the authorizer receives. Routing follows API
Gateway's rule that a static path segment wins over a ``{param}`` one. The local gateway,
`local.invoke`, the sample events under ``events/`` and the tests all build events here.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import wiring

REGION = "us-east-1"
ACCOUNT = "123456789012"
API_ID = "inkwelllocal"
STAGE = "v1"


@dataclass(frozen=True)
class Match:
    route: wiring.Route
    path_parameters: dict[str, str]


class NoRoute(Exception):
    """No route has this path (404), or none has it with this method (405)."""

    def __init__(self, status: int, allowed: tuple[str, ...] = ()) -> None:
        super().__init__(status)
        self.status = status
        self.allowed = allowed


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def _match_path(template: str, path: str) -> dict[str, str] | None:
    want, got = _segments(template), _segments(path)
    if len(want) != len(got):
        return None
    params: dict[str, str] = {}
    for w, g in zip(want, got, strict=True):
        if w.startswith("{") and w.endswith("}"):
            params[w[1:-1]] = g
        elif w != g:
            return None
    return params


def _specificity(template: str) -> tuple[int, ...]:
    # Static segments beat parameters, position by position, as in API Gateway.
    return tuple(0 if s.startswith("{") else 1 for s in _segments(template))


def match(method: str, path: str, routes: tuple[wiring.Route, ...] = wiring.ROUTES) -> Match:
    candidates = []
    for route in routes:
        params = _match_path(route.path, path)
        if params is not None:
            candidates.append((route, params))
    if not candidates:
        raise NoRoute(404)
    best = max(_specificity(route.path) for route, _ in candidates)
    at_best = [(r, p) for r, p in candidates if _specificity(r.path) == best]
    for route, params in at_best:
        if route.method == method.upper():
            return Match(route, params)
    raise NoRoute(405, tuple(sorted({r.method for r, _ in at_best})))


def method_arn(method: str, path: str) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{STAGE}/{method.upper()}{path}"


def _single(multi: Mapping[str, list[str]]) -> dict[str, str] | None:
    return {k: v[-1] for k, v in multi.items()} or None


def request_event(
    route: wiring.Route,
    path: str,
    *,
    headers: Mapping[str, list[str]] | None = None,
    query: Mapping[str, list[str]] | None = None,
    body: bytes | None = None,
    path_parameters: Mapping[str, str] | None = None,
    authorizer: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """The Lambda proxy event API Gateway sends to `route`'s function."""
    multi_headers = {k: list(v) for k, v in (headers or {}).items()}
    multi_query = {k: list(v) for k, v in (query or {}).items()}
    lower = {k.lower(): v[-1] for k, v in multi_headers.items()}
    text: str | None = None
    is_base64 = False
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, is_base64 = base64.b64encode(body).decode(), True
    now = time.time()
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": route.method,
        "headers": _single(multi_headers),
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": _single(multi_query),
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": route.name,
            "resourcePath": route.path,
            "httpMethod": route.method,
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "path": f"/{STAGE}{path}",
            "accountId": ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": STAGE,
            "domainPrefix": "localhost",
            "requestTimeEpoch": int(now * 1000),
            "requestId": request_id or str(uuid.uuid4()),
            "identity": {"sourceIp": source_ip, "userAgent": lower.get("user-agent")},
            "domainName": "localhost",
            "apiId": API_ID,
            "authorizer": dict(authorizer) if authorizer is not None else None,
        },
        "body": text,
        "isBase64Encoded": is_base64,
    }


def authorizer_event(route: wiring.Route, request: dict[str, Any]) -> dict[str, Any]:
    """The event the authorizer receives for `request` on `route`."""
    arn = method_arn(route.method, request["path"])
    if route.auth == "required":
        headers = {k.lower(): v for k, v in (request.get("headers") or {}).items()}
        return {
            "type": "TOKEN",
            "authorizationToken": headers.get("authorization", ""),
            "methodArn": arn,
        }
    event = {k: v for k, v in request.items() if k not in ("body", "isBase64Encoded")}
    return {"type": "REQUEST", "methodArn": arn, **event}


def authorizer_context(result: dict[str, Any]) -> dict[str, Any]:
    """What API Gateway passes on to the function from an authorizer's answer."""
    return {"principalId": result.get("principalId"), **(result.get("context") or {})}
