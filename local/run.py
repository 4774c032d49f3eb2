"""`make run`: the whole platform on this machine, until Ctrl-C.

PostgreSQL (embedded, its data under ``INKWELL_DATA_DIR``, default ``.inkwell/``; or the
server named by ``INKWELL_DATABASE_URL``), every domain database migrated, and the local
API Gateway on http://127.0.0.1:$PORT (default 8000) running the real authorizer and
functions. Data survives a restart.

The local event bus takes the functions' PutEvents calls at ``/_aws/events`` and delivers
them to the subscribed consumers; the scheduled functions (outbox relays) run every few
seconds. Recent events, deliveries and dead letters: ``make events``. Emails the platform
sends (the log transport) are also written, whole, to ``<data dir>/mailbox``.

While it runs, ``.inkwell/running.json`` records its process, URL and data directory, so
that ``make events`` and ``make invoke`` find its data (``local.running``). A platform that
was killed (``kill -9``) leaves its PostgreSQL running: the next ``make run`` sees that its
process is gone, stops that PostgreSQL and starts afresh.

Optional: ``INKWELL_ADMIN_USERNAME``, ``INKWELL_ADMIN_EMAIL`` and ``INKWELL_ADMIN_PASSWORD``
(all three) make sure that admin exists on start.

SIGINT (Ctrl-C) and SIGTERM stop the server and PostgreSQL, exit code 0.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
from types import FrameType
from urllib.parse import urlsplit

from inkwell import env
from local import gateway, running
from local.bus import LocalEventBus, ScheduleTimer
from local.dispatch import Dispatcher, ExecutionEnvironment
from local.embedded_pg import running_url

ADMIN_VARIABLES = (env.ADMIN_USERNAME, env.ADMIN_EMAIL, env.ADMIN_PASSWORD)


class Stop(BaseException):
    """Raised in the main thread by SIGINT/SIGTERM (BaseException: like KeyboardInterrupt)."""


class Signals:
    """SIGINT/SIGTERM: stop now while serving; during start-up, stop once it completes.

    Interrupting start-up half way could leave an embedded PostgreSQL running that we no
    longer hold; a second signal aborts anyway, for a start-up that hangs.
    """

    def __init__(self) -> None:
        self.pending: str | None = None
        self.serving = False

    def install(self) -> None:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.serving or self.pending:
            raise Stop(name)
        self.pending = name

    def start_serving(self) -> None:
        self.serving = True  # first: a signal from here on raises at once
        if self.pending:
            raise Stop(self.pending)

    @staticmethod
    def ignore() -> None:
        # During clean-up: a second Ctrl-C must not cut it short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def say(message: str) -> None:
    print(message, flush=True)


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr, flush=True)
    return 1


def port_from_env() -> int:
    raw = os.environ.get("PORT") or str(gateway.DEFAULT_PORT)
    port = int(raw)  # ValueError is reported by main
    if not 0 <= port <= 65535:
        raise ValueError(raw)
    return port


def ensure_admin() -> None:
    """Create or promote the configured admin; the password is never printed."""
    values = {name: os.environ.get(name, "") for name in ADMIN_VARIABLES}
    if not any(values.values()):
        return
    missing = [name for name, value in values.items() if not value]
    if missing:
        say(f"admin: not created, {', '.join(missing)} not set (all three are needed)")
        return
    # Imported here: the users service reads its settings once the environment is set.
    from users import service

    user = service.ensure_admin(
        values[env.ADMIN_USERNAME],
        values[env.ADMIN_EMAIL],
        values[env.ADMIN_PASSWORD],
    )
    say(f"admin: {user.username} is ready (role {user.role})")


def database_label() -> str:
    external = os.environ.get(env.DATABASE_URL)
    if not external:
        return "embedded"
    parts = urlsplit(external)  # host and port only: the URL may hold a password
    return f"external, {parts.hostname}:{parts.port or 5432}"


def banner(server: gateway.GatewayServer, data_dir: str) -> str:
    return "\n".join(
        (
            f"Inkwell is running on {server.url}",
            f"  API docs   {server.url}{gateway.DOCS_PATH}",
            f"  data       {data_dir} (PostgreSQL: {database_label()})",
            f"  emails     {os.path.join(data_dir, 'mailbox')} (one file per email sent)",
            "  events     make events (another terminal)",
            "  stop       Ctrl-C",
        )
    )


def main() -> int:
    signals = Signals()
    signals.install()  # before anything slow: a signal during start-up also stops cleanly
    try:
        port = port_from_env()
    except ValueError:
        return fail(f"PORT must be a port number, got {os.environ.get('PORT')!r}")
    # Bind before starting PostgreSQL: a taken port fails fast, with nothing to undo.
    try:
        server = gateway.serve(port, Dispatcher())
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return fail(f"port {port} is already in use; set PORT to another one")
        return fail(f"cannot listen on {gateway.HOST}:{port}: {exc.strerror}")

    from local import platform  # imported late: it locates the PostgreSQL binaries

    databases: platform.LocalDatabases | None = None
    bus: LocalEventBus | None = None
    relays: ScheduleTimer | None = None
    serving: threading.Thread | None = None
    try:
        data_dir = platform.data_dir()
        other = running.find()
        if other is not None and other.data_dir == data_dir:
            return fail(
                f"another local platform is running on {data_dir} ({other.url}, pid"
                f" {other.pid}): stop it with Ctrl-C where it runs, or: kill {other.pid}"
            )
        if not os.environ.get(env.DATABASE_URL) and running_url(data_dir / "postgres"):
            # Its platform is gone (killed): start_environment stops it as stale.
            say(f"stopping the PostgreSQL a stopped platform left running on {data_dir} ...")
        os.environ.setdefault(env.EMAIL_MAILBOX, str(data_dir / "mailbox"))
        say(f"starting PostgreSQL and migrating the databases ({data_dir}) ...")
        databases, _ = platform.start_environment(
            data_dir, events_endpoint=server.url + gateway.EVENTS_PATH
        )
        bus = server.bus = LocalEventBus(data_dir, bus_name=platform.LOCAL_BUS_NAME)
        relays = ScheduleTimer.for_scheduled(ExecutionEnvironment("inkwell-scheduled")).start()
        # Served from here on: the admin bootstrap below publishes its event to the bus
        # behind this very server.
        serving = threading.Thread(target=server.serve_forever, name="gateway", daemon=True)
        serving.start()
        running.record(server.url, data_dir)
        ensure_admin()
        say(banner(server, str(data_dir)))
        signals.start_serving()
        while serving.is_alive():  # until a signal raises Stop here
            serving.join(timeout=1)
    except Stop as stop:
        say(f"stopping ({stop}) ...")
    except Exception as exc:
        # A start-up failure (PostgreSQL, migrations, admin): one line, no traceback.
        return fail(f"could not start: {type(exc).__name__}: {exc}")
    finally:
        signals.ignore()
        if serving is not None:
            server.shutdown()
        server.server_close()  # waits for an invocation in progress: it needs its database
        if relays is not None:
            relays.stop()
        if bus is not None:
            bus.stop()
        if databases is not None:
            databases.stop()
        running.clear()
    say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
