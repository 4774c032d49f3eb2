"""`make invoke FN=<function-name> EVENT=<event.json>`: one invocation, in process.

The local counterpart of ``sam local invoke -e event.json``, without Docker: the
environment of `make run` is started (PostgreSQL, migrated databases, the functions'
settings), the function named in the wiring (a route, the authorizer or a maintenance
function) is loaded the way Lambda loads it, and called once with the event. The result is
printed as JSON on stdout; the function's own logs go to stderr, so stdout stays parseable.
It uses the data of the platform `make run` is running (local.running), or of the data
directory INKWELL_DATA_DIR names, and says which on stderr.

Exit codes: 0 invoked, 1 the authorizer denied ("Unauthorized") or the function raised,
2 bad arguments (unknown function, unreadable event).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import wiring
from inkwell import env
from local.dispatch import context_for, load_handler
from local.embedded_pg import running_url

UNAUTHORIZED = "Unauthorized"  # the exact message API Gateway turns into a 401


class UsageError(Exception):
    """The command line names something that does not exist."""


def find_function(name: str) -> wiring.Function:
    for function in wiring.all_functions():
        if function.name == name:
            return function
    names = ", ".join(f.name for f in wiring.all_functions())
    raise UsageError(f"no function named {name!r}; the functions are: {names}")


def read_event(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not JSON: {exc}") from None


def invoke(function: wiring.Function, event: Any) -> Any:
    """Call the function's handler once, as Lambda would."""
    return load_handler(function)(event, context_for(function))


def run(name: str, event_path: Path, out: TextIO) -> int:
    """Invoke `name` with the event in `event_path`, writing the result to `out`.

    Expects the functions' environment to be set already (main does it; tests use theirs).
    """
    function = find_function(name)
    event = read_event(event_path)
    try:
        result = invoke(function, event)
    except Exception as exc:
        if function == wiring.AUTHORIZER and str(exc) == UNAUTHORIZED:
            out.write(UNAUTHORIZED + "\n")
            return 1
        # Like a failed Lambda invocation: the error type, not the message or stack trace
        # (either may carry event data).
        out.write(json.dumps({"errorType": type(exc).__name__}) + "\n")
        return 1
    out.write(json.dumps(result, indent=2, default=str) + "\n")
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make invoke", description="Invoke one Inkwell function locally."
    )
    parser.add_argument("function", help="the function's name in functions/wiring.py")
    parser.add_argument("event", type=Path, help="the event JSON file (see events/)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    result_stream = sys.stdout
    try:
        # Checked before PostgreSQL starts: a typo should not cost a database start.
        find_function(args.function)
        read_event(args.event)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Everything but the result goes to stderr, including the function's logger, which
    # binds to the sys.stdout of the moment it is created (on import, below).
    with contextlib.redirect_stdout(sys.stderr):
        from local import platform, running  # late: platform locates the PostgreSQL binaries

        data_dir, why = running.data_dir(platform.data_dir())
        os.environ[running.DATA_DIR_VARIABLE] = str(data_dir)
        print(f"invoke: data of {data_dir} ({why})")
        if not os.environ.get(env.DATABASE_URL):
            shared = running_url(data_dir / "postgres")
            if shared:
                os.environ[env.DATABASE_URL] = shared
        databases, _ = platform.start_environment()
        try:
            return run(args.function, args.event, result_stream)
        finally:
            databases.stop()


if __name__ == "__main__":
    sys.exit(main())
