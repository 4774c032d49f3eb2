"""Where the CDK app finds the code it deploys (absolute, so synth works from any cwd)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
FUNCTIONS_DIR = REPO_ROOT / "functions"
LAYER_DIR = REPO_ROOT / "layers" / "shared"
LAYER_PYTHON_DIR = LAYER_DIR / "python"
PYPROJECT = REPO_ROOT / "pyproject.toml"
CDK_JSON = REPO_ROOT / "cdk.json"
NODE_MODULES = REPO_ROOT / "node_modules"
PACKAGE_LOCK = REPO_ROOT / "package-lock.json"
UV_LOCK = REPO_ROOT / "uv.lock"
