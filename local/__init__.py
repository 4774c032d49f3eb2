"""The local platform: the deployed system on one machine (see docs/local-platform.md).

`python -m local.<tool>` works from the checkout without PYTHONPATH: the functions and the
shared layer are put on the import path the way Lambda puts /var/task and /opt/python.
"""

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
for _path in (_ROOT / "layers" / "shared" / "python", _ROOT / "functions", _ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
