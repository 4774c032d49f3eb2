"""What API Gateway does with one request, in process: route, throttle, authorize, invoke.

The HTTP server of `make run` and the tests both go through `Dispatcher.handle`, so the
tests exercise the same path a local HTTP request takes: the real authorizer, then the real
function handler, each with the event API Gateway would send.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import wiring
from inkwell.errors import PROBLEM_CONTENT_TYPE, Problem
from inkwell.settings import Settings
from local import apigw

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
T = TypeVar("T")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that code commonly reads."""

    function_name: str
    memory_limit_in_mb: int
    timeout_s: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{apigw.REGION}:{apigw.ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self.started)) * 1000))


def context_for(function: wiring.Function) -> LambdaContext:
    return LambdaContext(function.name, function.memory_mb, function.timeout_s)


_handlers: dict[str, Handler] = {}


def load_handler(function: wiring.Function) -> Handler:
    """Import a function's module the way Lambda does (once) and return its handler."""
    found = _handlers.get(function.handler)
    if found is None:
        module_name, _, attribute = function.handler.rpartition(".")
        found = getattr(importlib.import_module(module_name), attribute)
        _handlers[function.handler] = found
    return found


class TokenBucket:
    """API Gateway's throttling model: a steady rate with a burst allowance."""

    def __init__(self, throttle: wiring.Throttle) -> None:
        self.rate = throttle.rate
        self.capacity = float(throttle.burst)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> float:
        """0 when the request may pass, else the seconds until it could."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.rate


def gateway_cors_headers() -> dict[str, str]:
    """CORS headers of API Gateway's own responses, as the API construct configures them:
    set for a single origin (or "*"); with several none, since a gateway response cannot
    echo the request's Origin safely."""
    origins = Settings.from_env().cors_origins
    if len(origins) != 1:
        return {}
    return {
        "access-control-allow-origin": origins[0],
        "access-control-expose-headers": ",".join(wiring.CORS_EXPOSE_HEADERS),
    }


def gateway_problem(
    status: int, title: str, detail: str, request_id: str, extra: Mapping[str, str] | None = None
) -> Response:
    """API Gateway's own answer (a gateway response), written as the functions write theirs."""
    body = Problem(status, detail, title=title).to_json()
    headers = {
        "content-type": PROBLEM_CONTENT_TYPE,
        "x-request-id": request_id,
        **gateway_cors_headers(),
        **(extra or {}),
    }
    return Response(status, headers, body)


def _lambda_response(result: dict[str, Any]) -> Response:
    headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        if values:
            headers[name.lower()] = ", ".join(str(v) for v in values)
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
    return Response(int(result.get("statusCode", 502)), headers, body)


def _open_environment() -> None:
    # Mangum drives each request on the thread's asyncio loop; a thread other than the
    # main one has none until it makes its own.
    asyncio.set_event_loop(asyncio.new_event_loop())


def _close_environment() -> None:
    from inkwell.db import _databases

    for db in _databases.values():
        db.discard_connection()
    asyncio.get_event_loop().close()
    asyncio.set_event_loop(None)


class ExecutionEnvironment:
    """One Lambda execution environment: invocations run one at a time on one thread.

    Module state (warm database connections, the logger's correlation id, the asyncio
    loop) then lives across invocations as it does on AWS, and is never shared by two
    invocations at once, whichever thread the request arrived on.
    """

    def __init__(self, name: str = "inkwell-lambda") -> None:
        self._executor: ThreadPoolExecutor | None = ThreadPoolExecutor(
            1, thread_name_prefix=name, initializer=_open_environment
        )

    def run(self, call: Callable[[], T]) -> T:
        if self._executor is None:
            raise RuntimeError("the execution environment is closed")
        return self._executor.submit(call).result()

    def invoke(self, function: wiring.Function, event: dict[str, Any]) -> Any:
        """Invoke `function` with `event`, as Lambda would."""
        return self.run(lambda: load_handler(function)(event, context_for(function)))

    def close(self) -> None:
        """Let the invocation in progress finish, then release connections."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.submit(_close_environment)
            executor.shutdown(wait=True)


class Dispatcher:
    """The local API Gateway, minus the HTTP server."""

    def __init__(
        self, *, throttling: bool = True, environment: ExecutionEnvironment | None = None
    ) -> None:
        self.throttling = throttling
        self.buckets = {route.name: TokenBucket(route.throttle) for route in wiring.ROUTES}
        self.environment = environment or ExecutionEnvironment()

    def handle(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, list[str]] | None = None,
        query: Mapping[str, list[str]] | None = None,
        body: bytes | None = None,
        source_ip: str = "127.0.0.1",
    ) -> Response:
        request_id = str(uuid.uuid4())
        try:
            # HEAD is answered by the GET route (the server drops the body), as HTTP wants.
            found = apigw.match("GET" if method.upper() == "HEAD" else method, path)
        except apigw.NoRoute as exc:
            if exc.status == 405:
                return gateway_problem(
                    405,
                    "Method Not Allowed",
                    f"{method} is not supported on {path}.",
                    request_id,
                    {"allow": ", ".join(exc.allowed)},
                )
            return gateway_problem(404, "Not Found", f"No route for {method} {path}.", request_id)
        route = found.route
        if self.throttling:
            wait = self.buckets[route.name].take()
            if wait:
                return gateway_problem(
                    429,
                    "Too Many Requests",
                    "The API is receiving too many requests; slow down.",
                    request_id,
                    {"retry-after": str(max(1, math.ceil(wait)))},
                )
        event = apigw.request_event(
            route,
            path,
            headers=headers,
            query=query,
            body=body,
            path_parameters=found.path_parameters,
            request_id=request_id,
            source_ip=source_ip,
        )
        if route.auth != "none":
            denied = self._authorize(route, event, request_id)
            if denied is not None:
                return denied
        return _lambda_response(self.environment.invoke(route, event))

    def _authorize(
        self, route: wiring.Route, event: dict[str, Any], request_id: str
    ) -> Response | None:
        """Run the real authorizer; on success put its context into `event`."""
        unauthorized = gateway_problem(
            401,
            "Unauthorized",
            "Missing or invalid bearer token.",
            request_id,
            {"www-authenticate": 'Bearer realm="inkwell"'},
        )
        auth_event = apigw.authorizer_event(route, event)
        if auth_event["type"] == "TOKEN" and not auth_event["authorizationToken"]:
            return unauthorized  # API Gateway answers this itself, without the authorizer
        try:
            result = self.environment.invoke(wiring.AUTHORIZER, auth_event)
        except Exception as exc:
            if str(exc) == "Unauthorized":
                return unauthorized
            return gateway_problem(
                500, "Internal Server Error", "The authorizer failed.", request_id
            )
        event["requestContext"]["authorizer"] = apigw.authorizer_context(result)
        return None
