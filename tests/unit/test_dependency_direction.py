"""Dependencies point one way: domain code -> shared layer -> libraries.

The shared layer (layers/shared/python/inkwell) knows nothing of the application: not the
wiring, not a domain package. Its database code knows nothing of events or HTTP: it offers
hooks (inkwell.db.on_result, Session.after_commit) and raises plain failures
(inkwell.failures) that the HTTP adapter alone maps to problem+json. Environment variable
names are spelled once, in inkwell.env.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "shared" / "python" / "inkwell"
LAYER_MODULES = sorted(LAYER.glob("*.py"))
APPLICATION = {"wiring", "users", "content", "comments", "authorizer", "health", "local", "infra"}


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in it (also inside functions), dotted."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_scan_sees_the_layer() -> None:
    assert len(LAYER_MODULES) > 20
    assert "inkwell.web.SECURITY_HEADERS" in imports_of(LAYER / "http.py")


@pytest.mark.parametrize("path", LAYER_MODULES, ids=lambda p: p.name)
def test_the_layer_imports_nothing_of_the_application(path: Path) -> None:
    application = {m for m in imports_of(path) if m.split(".")[0] in APPLICATION}
    assert not application, f"{path.name} imports {sorted(application)}"


@pytest.mark.parametrize("module", ["db.py", "failures.py", "env.py", "web.py"])
def test_database_code_knows_nothing_of_events_or_http(module: str) -> None:
    forbidden = (
        "inkwell.events",
        "inkwell.errors",
        "inkwell.http",
        "inkwell.relay",
        "inkwell.consumers",
        "fastapi",
        "starlette",
        "mangum",
    )
    found = {
        m
        for m in imports_of(LAYER / module)
        if any(m == f or m.startswith(f"{f}.") for f in forbidden)
    }
    assert not found, f"{module} imports {sorted(found)}"


# A literal environment variable name outside inkwell.env (the benchmark under local/bench
# excepted).
_NAME = re.compile(r"^(INKWELL|POWERTOOLS)_[A-Z0-9_]+$")
_SCANNED = ("functions", "layers/shared/python", "infra", "local")


def _literal_names(path: Path) -> list[str]:
    return [
        node.value
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and _NAME.match(node.value)
    ]


def test_environment_variable_names_are_spelled_once_in_env() -> None:
    assert _literal_names(LAYER / "env.py")  # the scan recognises the names where they are
    spelled = {
        str(path.relative_to(ROOT)): names
        for base in _SCANNED
        for path in sorted((ROOT / base).rglob("*.py"))
        if path != LAYER / "env.py"
        and "bench" not in path.relative_to(ROOT).parts
        and (names := _literal_names(path))
    }
    assert spelled == {}, "use the names of inkwell.env"
