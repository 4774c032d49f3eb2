"""Failures of the layers below the HTTP adapter that a caller may need to tell apart.

Raised by the database code (and anything else that is not HTTP); the HTTP adapter turns
them into problem+json answers (inkwell.http.problem_for), in that one place. Plain
exceptions, no imports: a function that never touches the database does not load pg8000 to
recognise them.
"""

from __future__ import annotations


class DatabaseUnavailable(Exception):
    """The database (not the request) is the problem: unreachable, refusing logins, shutting
    down, out of resources. Retrying shortly may succeed. The message is safe to show."""


class InvalidValue(Exception):
    """The database refused a value as invalid for its type (a value that slipped past
    validation): the request's fault, never the server's."""
