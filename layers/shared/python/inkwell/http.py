"""The HTTP adapter: one small FastAPI app per function, served to Lambda by Mangum.

A handler module does three things::

    api = FunctionApp(route_for_module(__name__))    # its route, from wiring.ROUTES

    @api.endpoint(status_code=201)
    def register(body: RegisterRequest) -> UserOut:
        return service.register(...)

    handler = api.handler

The path and method come from the wiring declaration, so they are written once; the adapter
takes the route as an `HttpRoute` (which `wiring.Route` is) and never imports the wiring:
the shared layer knows nothing of the application. The adapter owns the cross-cutting
parts: the request id (taken from ``X-Request-ID`` when the caller sent a sane one, else
API Gateway's), the correlation id on every log line, CORS and security headers, the
caller's identity from the authorizer context, and the problem+json error contract. An
unexpected exception becomes a 500 problem; its type and location are logged, never its
message or stack trace (either may carry user data or secrets).

A path with a trailing slash is served as the path without it (API Gateway routes both to
the same resource; nothing redirects). A query value with a NUL character is a 422 naming
the parameter (PostgreSQL text cannot hold one). A token the authorizer found genuine but
expired arrives as ``tokenError`` in the authorizer context and is answered 401 saying so.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Protocol

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from mangum import Mangum
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from inkwell.errors import (
    PROBLEM_CONTENT_TYPE,
    FieldProblem,
    Problem,
    internal_error,
    service_unavailable,
    unauthorized,
)
from inkwell.failures import DatabaseUnavailable, InvalidValue
from inkwell.identity import ROLES, Principal
from inkwell.observability import (
    ExecutionEnvironment,
    flush_metrics,
    logger,
    set_correlation_id,
)
from inkwell.settings import settings
from inkwell.web import API_PREFIX, CORS_EXPOSE_HEADERS, NO_STORE, SECURITY_HEADERS

LambdaEvent = dict[str, Any]
LambdaResponse = dict[str, Any]

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def problem_for(exc: BaseException) -> Problem | None:
    """The problem+json answer to an exception, None for an unexpected one (a 500).

    The one place where the failures of the layers below (inkwell.failures) become HTTP.
    """
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, DatabaseUnavailable):
        return service_unavailable(str(exc))
    if isinstance(exc, InvalidValue):
        return Problem(422, "A value in the request is not valid.")
    return None


def problem_response(problem: Problem) -> Response:
    return Response(
        problem.to_json(),
        status_code=problem.status,
        headers=problem.headers,
        media_type=PROBLEM_CONTENT_TYPE,
    )


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _validation_problem(exc: RequestValidationError) -> Problem:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return Problem(400, "The request body is not valid JSON.")
    if any(e.get("type") == "model_attributes_type" and e.get("loc") == ("body",) for e in errors):
        return Problem(400, "The request body must be a JSON object.")
    if any(e.get("type") == "missing" and tuple(e.get("loc", ())) == ("body",) for e in errors):
        return Problem(400, "The request needs a JSON body.")
    # Only the field and the message: pydantic's error carries the input, which may be a
    # password, and must not travel back or into logs.
    fields = [FieldProblem(_field_name(tuple(e["loc"])), str(e["msg"])) for e in errors]
    return Problem(422, "The request has invalid fields.", errors=fields)


def _lambda_problem(problem: Problem) -> LambdaResponse:
    """A problem as a Lambda proxy response, for answers given before or around FastAPI."""
    return {
        "statusCode": problem.status,
        "headers": {
            "content-type": PROBLEM_CONTENT_TYPE,
            **{k.lower(): v for k, v in problem.headers.items()},
        },
        "body": problem.to_json().decode(),
        "isBase64Encoded": False,
    }


def _install_error_handlers(app: FastAPI) -> None:
    async def on_problem(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return problem_response(exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        body_problem = any(tuple(e.get("loc", ()))[:1] == ("body",) for e in exc.errors())
        content_type = request.headers.get("content-type")
        if body_problem and not _is_json(content_type) and await request.body():
            return problem_response(
                Problem(
                    415,
                    "The request body must be JSON sent with Content-Type: application/json"
                    f" (got {content_type or 'no Content-Type'}).",
                )
            )
        return problem_response(_validation_problem(exc))

    async def on_http(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return problem_response(Problem(exc.status_code, str(exc.detail)))

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


def log_unexpected(exc: BaseException) -> None:
    """Log where an unexpected error happened without its message or stack trace."""
    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    where = f"{frame.tb_frame.f_code.co_filename}:{frame.tb_lineno}" if frame is not None else "?"
    logger.error("unexpected error", extra={"errorType": type(exc).__name__, "at": where})


# What the authorizer passes for a genuine token it refused, and what to tell the caller.
TOKEN_ERRORS = {
    "expired": "The access token has expired: get a new one with POST "
    f"{API_PREFIX}/users/refresh, or sign in again.",
}


def _authorizer_context(event: LambdaEvent) -> dict[str, Any]:
    """What the authorizer passed the function (API Gateway's requestContext.authorizer)."""
    return (event.get("requestContext") or {}).get("authorizer") or {}


def _token_problem(event: LambdaEvent) -> Problem | None:
    reason = _authorizer_context(event).get("tokenError")
    if not reason:
        return None
    return unauthorized(TOKEN_ERRORS.get(str(reason), "The access token is not valid."))


def _nul_problem(event: LambdaEvent) -> Problem | None:
    """A 422 naming each query or path parameter that holds a NUL character."""
    fields = []
    for source in ("multiValueQueryStringParameters", "pathParameters"):
        for name, value in (event.get(source) or {}).items():
            values = value if isinstance(value, list) else [value]
            if any("\x00" in str(v) for v in values):
                fields.append(FieldProblem(name, "must not contain NUL characters"))
    if not fields:
        return None
    return Problem(422, "The request has invalid fields.", errors=fields)


def _principal_from_event(event: LambdaEvent) -> Principal | None:
    context = _authorizer_context(event)
    user_id, username, role = context.get("userId"), context.get("username"), context.get("role")
    if not user_id or not username or role not in ROLES:
        return None
    return Principal(user_id=str(user_id), username=str(username), role=str(role))


# The event of the invocation in progress: the caller's identity is read from it.
_current_event: ContextVar[LambdaEvent] = ContextVar("inkwell_event")


def _caller() -> Principal | None:
    """The verified caller, as the authorizer passed it; None for anonymous callers."""
    return _principal_from_event(_current_event.get({}))


def source_ip() -> str:
    """The caller's address as API Gateway saw it (requestContext.identity.sourceIp)."""
    context = _current_event.get({}).get("requestContext") or {}
    return str((context.get("identity") or {}).get("sourceIp") or "unknown")


def _signed_in() -> Principal:
    """The verified caller; 401 when anonymous (the gateway normally stops them first)."""
    principal = _caller()
    if principal is None:
        raise unauthorized("This operation needs a signed-in user.")
    return principal


def _identity_parameters(hints: dict[str, Any]) -> dict[str, Callable[[], Principal | None]]:
    """Parameters typed `Principal` (signed in) or `Principal | None` (anyone): the adapter
    fills them from the authorizer's context, without FastAPI's dependency machinery."""
    found: dict[str, Callable[[], Principal | None]] = {}
    for name, hint in hints.items():
        if hint is Principal:
            found[name] = _signed_in
        elif hint == (Principal | None):
            found[name] = _caller
    return found


def _request_id_of(event: LambdaEvent, context: Any) -> str:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    offered = headers.get("x-request-id")
    if isinstance(offered, str) and _SAFE_REQUEST_ID.match(offered):
        return offered
    from_gateway = (event.get("requestContext") or {}).get("requestId")
    if from_gateway:
        return str(from_gateway)
    return str(getattr(context, "aws_request_id", "") or "local")


def _cors_headers(event: LambdaEvent) -> dict[str, str]:
    origins = settings().cors_origins
    if not origins:
        return {}
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    origin = headers.get("origin")
    expose = {"Access-Control-Expose-Headers": ",".join(CORS_EXPOSE_HEADERS)}
    if "*" in origins:
        return {"Access-Control-Allow-Origin": "*", **expose}
    if origin in origins:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin", **expose}
    return {}


class HttpRoute(Protocol):
    """The one operation a function serves, as the wiring declares it (`wiring.Route`)."""

    @property
    def name(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def tags(self) -> tuple[str, ...]: ...


class FunctionApp:
    """The FastAPI app of one Lambda function, bound to its route."""

    def __init__(self, route: HttpRoute) -> None:
        self.route = route
        self.no_store = False
        self.environment = ExecutionEnvironment()
        self.api = FastAPI(
            title=self.route.name,
            openapi_url=None,
            docs_url=None,
            redoc_url=None,
            redirect_slashes=False,
        )
        _install_error_handlers(self.api)
        settings()  # validate the configuration at cold start, not in the middle of a request
        self._mangum = Mangum(
            self.api,
            lifespan="off",
            text_mime_types=["application/json", PROBLEM_CONTENT_TYPE],
        )

    def endpoint(
        self, *, status_code: int = 200, no_store: bool = False, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register the function's one operation at its declared method and path.

        `no_store`: the response carries credentials (tokens): Cache-Control: no-store."""
        self.no_store = no_store

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            hints = typing.get_type_hints(fn, include_extras=True)
            identity = _identity_parameters(hints)

            async def call(**values: Any) -> Any:
                # async so FastAPI calls it on the event loop, not in a worker thread:
                # a Lambda serves one request at a time, and thread hops cost time.
                try:
                    for name, resolve in identity.items():
                        values[name] = resolve()
                    result = fn(**values)
                except Problem:
                    raise
                except Exception as exc:
                    problem = problem_for(exc)
                    if problem is None:
                        log_unexpected(exc)
                        raise internal_error() from None
                    raise problem from exc
                if result is None and status_code == 204:
                    return Response(status_code=204)
                if isinstance(result, BaseModel):
                    # Already a validated response model: serialise it once, instead of
                    # letting FastAPI validate it again against the declared model.
                    return Response(
                        result.model_dump_json(by_alias=True),
                        status_code=status_code,
                        media_type="application/json",
                    )
                return result

            if hints.get("return") is type(None):
                # get_type_hints turns "-> None" into NoneType, which FastAPI would take
                # as a response model (and refuse for 204); None means "no body".
                hints["return"] = None
            signature = inspect.signature(fn)
            call.__signature__ = signature.replace(  # type: ignore[attr-defined]
                parameters=[
                    p.replace(annotation=hints.get(p.name, p.annotation))
                    for p in signature.parameters.values()
                    if p.name not in identity
                ],
                return_annotation=hints.get("return", signature.return_annotation),
            )
            call.__name__ = fn.__name__
            call.__doc__ = fn.__doc__ or self.route.description
            responses: dict[int | str, dict[str, Any]] = {
                "default": {
                    "description": "Problem",
                    "content": {PROBLEM_CONTENT_TYPE: {}},
                }
            }
            self.api.add_api_route(
                self.route.path,
                call,
                methods=[self.route.method],
                status_code=status_code,
                operation_id=self.route.name,
                summary=self.route.description,
                tags=list(self.route.tags),
                responses=responses,
                **kwargs,
            )
            return fn

        return register

    def handler(self, event: LambdaEvent, context: Any) -> LambdaResponse:
        """The Lambda entry point."""
        self.environment.start(context)
        rid = _request_id_of(event, context)
        path = str(event.get("path") or "/")
        if len(path) > 1 and path.endswith("/"):
            event = {**event, "path": path.rstrip("/") or "/"}
        head = event.get("httpMethod") == "HEAD" and self.route.method == "GET"
        if head:  # a HEAD method wired to a GET function: the GET answer, without its body
            event = {**event, "httpMethod": "GET"}
        _current_event.set(event)
        set_correlation_id(rid)
        refused = _token_problem(event) or _nul_problem(event)
        try:
            response = (
                _lambda_problem(refused) if refused is not None else self._mangum(event, context)
            )
        except Exception as exc:
            log_unexpected(exc)
            response = _lambda_problem(internal_error())
        headers = response.setdefault("headers", {})
        headers["x-request-id"] = rid
        headers.update(_cors_headers(event))
        headers.update({name.lower(): value for name, value in SECURITY_HEADERS.items()})
        if self.no_store:
            headers["cache-control"] = NO_STORE
        if head:
            response["body"] = ""
        flush_metrics()
        return response

    def openapi(self) -> dict[str, Any]:
        return self.api.openapi()
