"""CDK app entry point (``cdk.json``: ``.venv/bin/python infra/cdk/app.py``).

Synthesizes the ``inkwell-<stage>`` stack and its nested stacks, checked by cdk-nag;
settings come from CDK context (the table in docs/deploy.md), e.g.
``cdk synth -c stage=prod -c alarmEmail=ops@example.com -c corsOrigins=https://blog.example.com
-c emailSender=no-reply@example.com``.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
# Make `infra` and `wiring` importable however the app is started (the Makefile also sets
# PYTHONPATH=functions:layers/shared/python:.).
for _entry in (_ROOT / "layers" / "shared" / "python", _ROOT / "functions", _ROOT):
    if str(_entry) not in sys.path:
        sys.path.insert(0, str(_entry))

from infra.cdk.inkwell_infra import create_app, environment_from_os  # noqa: E402
from infra.cdk.inkwell_infra.config import SettingsError  # noqa: E402


def main() -> None:
    try:
        app, _stack = create_app(env=environment_from_os())
    except SettingsError as error:  # a setting to fix: the message, not a traceback
        sys.exit(f"inkwell: {error}")
    app.synth()


if __name__ == "__main__":
    main()
