"""`make authz-window`: how long a demotion and a deactivation take to reach content and
comments on a running local platform (the event delay; the users domain acts at once).

Against `make run` (URL from INKWELL_URL, default http://127.0.0.1:$PORT or :8000), with
the admin of INKWELL_ADMIN_USERNAME / INKWELL_ADMIN_PASSWORD. Each round registers two
fresh users and measures, from the moment the users API answered:

- demotion: an admin demoted to user, until content stops showing them another user's
  draft (a privileged read) with the token issued while they were admin;
- deactivation: a user deactivating their account, until content (favorite) and comments
  (report) answer 401 to the token they still hold.

Reads and refused writes only: it changes nothing but the probe accounts it creates.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable

import httpx

from inkwell import env

API = "/api/v1"
POLL_S = 0.005
GIVE_UP_S = 30.0


def _ok(response: httpx.Response, status: int = 200) -> dict[str, object]:
    if response.status_code != status:
        raise SystemExit(
            f"error: {response.request.method} {response.request.url.path}"
            f" answered {response.status_code}: {response.text}"
        )
    return dict(response.json()) if response.content else {}


def _until(check: Callable[[], bool], since: float) -> float:
    """Seconds from `since` until `check()` first holds."""
    while not check():
        if time.monotonic() - since > GIVE_UP_S:
            raise SystemExit(f"error: not within {GIVE_UP_S:.0f} s")
        time.sleep(POLL_S)
    return time.monotonic() - since


def _user(client: httpx.Client, prefix: str) -> tuple[str, str, str]:
    """A new user: (id, username, password)."""
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex
    user = _ok(
        client.post(
            f"{API}/users/register",
            json={"username": name, "email": f"{name}@example.com", "password": password},
        ),
        201,
    )
    return str(user["id"]), name, password


def _login(client: httpx.Client, name: str, password: str) -> str:
    return str(
        _ok(client.post(f"{API}/users/login", json={"username": name, "password": password}))[
            "token"
        ]
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def one_round(client: httpx.Client, admin: str) -> tuple[float, float, float]:
    """(demotion reaching content, deactivation reaching content, ... reaching comments)."""
    probe_id, probe_name, probe_password = _user(client, "probe")
    _, writer_name, writer_password = _user(client, "writer")
    writer = _login(client, writer_name, writer_password)
    draft = _ok(
        client.post(f"{API}/posts", json={"title": "A draft"}, headers=_bearer(writer)), 201
    )
    draft_path = f"{API}/posts/{draft['id']}"
    _ok(client.put(f"{API}/users/{probe_id}/role", json={"role": "admin"}, headers=_bearer(admin)))
    # A token issued while admin; wait until content knows the promotion too.
    probe_token = _login(client, probe_name, probe_password)
    started = time.monotonic()
    _until(lambda: client.get(draft_path, headers=_bearer(probe_token)).status_code == 200, started)
    _ok(client.put(f"{API}/users/{probe_id}/role", json={"role": "user"}, headers=_bearer(admin)))
    demoted = time.monotonic()
    demotion = _until(
        lambda: client.get(draft_path, headers=_bearer(probe_token)).status_code == 404, demoted
    )

    _ok(client.delete(f"{API}/users/{probe_id}", headers=_bearer(probe_token)), 204)
    gone = time.monotonic()
    nowhere = uuid.uuid4()
    content = _until(
        lambda: (
            client.post(f"{API}/posts/{nowhere}/favorite", headers=_bearer(probe_token)).status_code
            == 401
        ),
        gone,
    )
    comments = _until(
        lambda: (
            client.post(
                f"{API}/comments/{nowhere}/report", headers=_bearer(probe_token)
            ).status_code
            == 401
        ),
        gone,
    )
    return demotion, content, comments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make authz-window",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    url = os.environ.get(env.URL) or f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
    username = os.environ.get(env.ADMIN_USERNAME)
    password = os.environ.get(env.ADMIN_PASSWORD)
    if not username or not password:
        print(
            "error: set INKWELL_ADMIN_USERNAME and INKWELL_ADMIN_PASSWORD (the admin that"
            " make run was started with)",
            file=sys.stderr,
        )
        return 2
    with httpx.Client(base_url=url, timeout=10) as client:
        admin = _login(client, username, password)
        rows = [one_round(client, admin) for _ in range(args.rounds)]
    print(f"{args.rounds} rounds against {url}; seconds from the users API's answer until:")
    for name, values in zip(
        (
            "demoted admin refused by content",
            "deactivated user refused by content",
            "deactivated user refused by comments",
        ),
        zip(*rows, strict=True),
        strict=True,
    ):
        ms = sorted(v * 1000 for v in values)
        print(f"  {name:38} median {statistics.median(ms):7.1f} ms   max {ms[-1]:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
