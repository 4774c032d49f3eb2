"""The local API Gateway's HTTP front: a stdlib HTTP server in front of `Dispatcher.handle`.

Everything API Gateway itself decides (routing, throttling, the authorizer) happens in
`local.dispatch`; this module only speaks HTTP: it reads the request (with API Gateway's
10 MB payload limit), hands it over, writes the response back, and logs one access line per
request. It also answers what API Gateway answers without a function: the CORS preflight
(the CDK default preflight: a mock integration) and, for developers, ``/openapi.json`` and
Swagger UI at ``/docs``, its assets served from the ``fastapi-swagger`` package (no CDN:
the docs work offline).

Every response, whatever the method (TRACE, CONNECT, a made-up one) and even for a request
line the server cannot parse, is problem+json when it is an error, and carries
X-Request-ID, the CORS headers and the security headers (wiring.SECURITY_HEADERS).
"""

from __future__ import annotations

import json
import mimetypes
import sys
import threading
import time
import traceback
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

import wiring
from inkwell.settings import Settings
from local import apigw, openapi
from local.bus import LocalEventBus, handle_put_events
from local.dispatch import Dispatcher, Response, gateway_problem

HOST = "127.0.0.1"
DEFAULT_PORT = 8000
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit

OPENAPI_PATH = "/openapi.json"
DOCS_PATH = "/docs"
DOCS_ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
# The docs page runs Swagger UI: its own scripts and styles, and the inline start-up script.
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' "
    "'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)
EVENTS_PATH = "/_aws/events"  # the local bus's PutEvents endpoint


class RequestTooLarge(Exception):
    """The body is over MAX_BODY_BYTES."""


class BadRequest(Exception):
    """The HTTP framing itself is wrong (bad Content-Length, broken chunked encoding)."""


def preflight(origin: str | None, request_id: str) -> Response | None:
    """The CDK default preflight answer; None when CORS is off (no origins configured)."""
    origins = Settings.from_env().cors_origins  # the functions' variable and parsing
    if not origins:
        return None
    # CDK: one origin is always answered as is; with several, the request's Origin is
    # echoed when it is listed, else the first one is answered.
    allowed = origin if len(origins) > 1 and origin in origins else origins[0]
    headers = {
        "access-control-allow-origin": allowed,
        "access-control-allow-methods": ",".join(wiring.cors_allow_methods()),
        "access-control-allow-headers": ",".join(wiring.CORS_ALLOW_HEADERS),
        "access-control-max-age": str(wiring.CORS_MAX_AGE_S),
        "x-request-id": request_id,
    }
    if allowed != "*":
        headers["vary"] = "Origin"
    return Response(204, headers, b"")


def is_route_path(path: str) -> bool:
    """True when some route is declared at `path` (whatever its method)."""
    try:
        apigw.match("OPTIONS", path)
    except apigw.NoRoute as exc:
        return exc.status == 405
    return True


class GatewayServer(ThreadingHTTPServer):
    """The HTTP server, holding the dispatcher and the (lazily built) API document."""

    # Request threads must not keep the process alive: a browser's keep-alive connection
    # would otherwise block shutdown until it times out.
    daemon_threads = True

    def __init__(self, port: int, dispatcher: Dispatcher) -> None:
        super().__init__((HOST, port), GatewayHandler)
        self.dispatcher = dispatcher
        # The local EventBridge endpoint (AWS_ENDPOINT_URL_EVENTS), once the bus is attached.
        self.bus: LocalEventBus | None = None
        self._document: bytes | None = None
        self._document_lock = threading.Lock()
        self._log_lock = threading.Lock()

    def server_close(self) -> None:
        """Close the socket, then let the invocation in progress finish and clean up."""
        super().server_close()
        if hasattr(self, "dispatcher"):  # absent when binding the socket failed
            self.dispatcher.environment.close()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def openapi_json(self) -> bytes:
        # Built on first use: it imports every function module, a cold start of each, in
        # the environment thread where the handlers will run.
        with self._document_lock:
            if self._document is None:
                document = self.dispatcher.environment.run(openapi.build)
                self._document = json.dumps(document, indent=2).encode()
            return self._document

    def access_log(self, line: str) -> None:
        with self._log_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()


class GatewayHandler(BaseHTTPRequestHandler):
    server: GatewayServer
    raw_query = ""
    # HTTP/1.1 keep-alive: every response carries Content-Length, so clients reuse sockets.
    protocol_version = "HTTP/1.1"
    server_version = "inkwell-local-gateway"
    # Headers and body go out in separate writes; with Nagle on, the body would wait for
    # the client's delayed ACK (~40 ms a response).
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return self.server_version  # no Python version in the Server header

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        self._serve()

    def do_TRACE(self) -> None:
        self._serve()

    def do_CONNECT(self) -> None:
        self._serve()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What the server itself refuses (a method it has no do_* for, a malformed request
        line, headers too long): problem+json like every other answer, never HTML."""
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        if code == HTTPStatus.NOT_IMPLEMENTED and getattr(self, "command", None):
            code, phrase = 405, "Method Not Allowed"
            message = f"{self.command} is not supported."
        self.close_connection = True
        response = gateway_problem(
            code, phrase, message or phrase, _new_id(), {"connection": "close"}
        )
        if getattr(self, "command", None) is None:
            # The request line was unreadable: answer with headers (not as HTTP/0.9).
            self.command, self.request_version = "", "HTTP/1.0"
        self._write(response)

    def _serve(self) -> None:
        started = time.monotonic()
        raw_path, _, self.raw_query = self.path.partition("?")
        path = unquote(raw_path) or "/"
        try:
            response = self._respond(path)
        except RequestTooLarge:
            # The unread body is still on the socket: answer, then drop the connection.
            self.close_connection = True
            response = gateway_problem(
                413,
                "Content Too Large",
                f"The request body is over {MAX_BODY_BYTES} bytes.",
                _new_id(),
                {"connection": "close"},
            )
        except BadRequest as exc:
            self.close_connection = True
            response = gateway_problem(
                400, "Bad Request", str(exc), _new_id(), {"connection": "close"}
            )
        except Exception as exc:
            # Never a stack trace to the client; the developer's console gets where it broke.
            self._log_error(exc)
            response = gateway_problem(
                500,
                "Internal Server Error",
                "The local gateway failed; see its console.",
                _new_id(),
            )
        # Logged before the response goes out, so a client that has its answer can rely on
        # the line being there (the tests do); the duration is the gateway's and function's.
        # The path as sent (still %-encoded, so it cannot break the line); never the query,
        # which may carry secrets.
        elapsed_ms = (time.monotonic() - started) * 1000
        self.server.access_log(
            f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {self.client_address[0]} "
            f"{self.command} {raw_path} {response.status} {elapsed_ms:.1f}ms "
            f"{response.headers.get('x-request-id', '-')}"
        )
        self._write(response)

    def _respond(self, path: str) -> Response:
        # Read first, whatever the answer: an unread body would corrupt the next request
        # on this keep-alive connection.
        body = self._read_body()
        if self.command == "GET" and path == OPENAPI_PATH:
            return Response(
                200,
                {"content-type": "application/json", "x-request-id": _new_id()},
                self.server.openapi_json(),
            )
        if self.command in ("GET", "HEAD") and path == DOCS_PATH:
            return _docs_page()
        if self.command in ("GET", "HEAD") and path.startswith(DOCS_PATH + "/"):
            asset = _docs_asset(path.removeprefix(DOCS_PATH + "/"))
            if asset is not None:
                return asset
        if self.command == "OPTIONS" and is_route_path(path):
            answer = preflight(self.headers.get("Origin"), _new_id())
            if answer is not None:
                return answer
        if self.command == "POST" and path == EVENTS_PATH and self.server.bus is not None:
            return self._put_events(self.server.bus, body)
        query = parse_qs(self.raw_query, keep_blank_values=True)
        return self.server.dispatcher.handle(
            self.command,
            path,
            headers=self._headers(),
            query=query,
            body=body or None,
            source_ip=self.client_address[0],
        )

    def _put_events(self, bus: LocalEventBus, body: bytes) -> Response:
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, payload = handle_put_events(bus, headers, body)
        return Response(
            status, {"content-type": "application/x-amz-json-1.1"}, json.dumps(payload).encode()
        )

    def _headers(self) -> dict[str, list[str]]:
        # API Gateway passes every value of a repeated header in multiValueHeaders.
        multi: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            multi.setdefault(name, []).append(value)
        return multi

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        try:
            length = int(raw)
        except ValueError:
            raise BadRequest("The Content-Length header is not a number.") from None
        if length < 0:
            raise BadRequest("The Content-Length header is negative.")
        if length > MAX_BODY_BYTES:
            raise RequestTooLarge()
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                raise BadRequest("The chunked request body is malformed.") from None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers, up to the blank line
                    pass
                return bytes(body)
            if len(body) + size > MAX_BODY_BYTES:
                raise RequestTooLarge()
            body += self.rfile.read(size)
            self.rfile.readline(1024)  # the CRLF after each chunk

    def _write(self, response: Response) -> None:
        headers = {k.lower(): v for k, v in response.headers.items()}
        headers.setdefault("x-request-id", _new_id())
        for name, value in wiring.SECURITY_HEADERS.items():
            headers.setdefault(name.lower(), value)
        try:
            self.send_response(response.status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away; nothing left to tell it

    def _log_error(self, exc: BaseException) -> None:
        # The type and the innermost frame only: a message can carry request data.
        frame = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        where = f"{frame[0].filename}:{frame[0].lineno}" if frame else "?"
        sys.stderr.write(f"gateway error: {type(exc).__name__} at {where}\n")

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silenced: `_serve` writes the access line, with the duration and request id."""

    def log_message(self, format: str, *args: Any) -> None:
        # Only the server's own complaints (malformed request lines) come here.
        sys.stderr.write(f"gateway: {format % args}\n")


def _new_id() -> str:
    return str(uuid.uuid4())


def _docs_page() -> Response:
    from fastapi.openapi.docs import get_swagger_ui_html

    html = get_swagger_ui_html(
        openapi_url=OPENAPI_PATH,
        title=f"{openapi.TITLE} - Swagger UI",
        swagger_js_url=f"{DOCS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_PATH}/favicon-32x32.png",
    )
    return Response(
        200,
        {
            "content-type": "text/html; charset=utf-8",
            "content-security-policy": DOCS_CSP,
            "x-request-id": _new_id(),
        },
        bytes(html.body),
    )


def _docs_asset(name: str) -> Response | None:
    """One of Swagger UI's files, from the installed package; None for anything else."""
    if name not in DOCS_ASSETS:
        return None
    from importlib.resources import files

    data = files("fastapi_swagger.resources").joinpath(name).read_bytes()
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(
        200,
        {"content-type": kind, "cache-control": "max-age=3600", "x-request-id": _new_id()},
        data,
    )


def serve(port: int, dispatcher: Dispatcher) -> GatewayServer:
    """A server bound to 127.0.0.1:`port` (0: a free port), not yet serving.

    Binding fails here (OSError, EADDRINUSE) when the port is taken.
    """
    return GatewayServer(port, dispatcher)


def start_in_thread(
    port: int = 0,
    dispatcher: Dispatcher | None = None,
) -> tuple[GatewayServer, threading.Thread]:
    """Serve in a background thread; stop with `server.shutdown(); server.server_close()`."""
    server = serve(port, dispatcher or Dispatcher())
    # A short poll interval: shutdown() waits up to one interval for the loop to notice.
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="inkwell-gateway",
        daemon=True,
    )
    thread.start()
    return server, thread
