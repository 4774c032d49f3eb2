"""/docs in a real browser (Debian's Chromium, headless), with nothing but the local gateway
to load from: Swagger UI must render every operation of the API offline.

`make test` installs Chromium when it runs as root and it is missing. Without it the test
is skipped on a developer's machine, and fails under CI (CI=true), where it must run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile

import pytest

import wiring
from local import gateway

pytestmark = pytest.mark.e2e

BROWSERS = ("chromium", "chromium-browser")
# No network beyond what the page asks of the gateway: no updates, sync or telemetry.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def browser() -> str:
    found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if found is None:
        message = "Chromium is not installed: `make test` installs it (apt-get) as root"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def rendered_dom(url: str) -> str:
    """The page's DOM after its scripts ran (up to 20 s of virtual time)."""
    with tempfile.TemporaryDirectory(prefix="inkwell-chromium-") as profile:
        done = subprocess.run(
            [
                browser(),
                *FLAGS,
                f"--user-data-dir={profile}",
                "--virtual-time-budget=20000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_docs_render_every_operation_offline(server: gateway.GatewayServer) -> None:
    dom = rendered_dom(f"{server.url}{gateway.DOCS_PATH}")
    assert "swagger-ui" in dom
    assert "Unable to render this definition" not in dom
    # One operation block per route, each showing its method and path.
    operations = re.findall(r'id="operations-(?!tag-)([^"]+)"', dom)
    assert sorted(operations) == sorted(f"{r.tags[0]}-{r.name}" for r in wiring.ROUTES)
    for route in wiring.ROUTES:
        assert f'data-path="{route.path}"' in dom, route.path
    assert "cdn." not in dom  # every asset came from the gateway
