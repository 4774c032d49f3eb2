"""`make bench` (docs/performance.md).

`python -m bench` works from the checkout without PYTHONPATH, as `python -m local.<tool>`
does: importing the local platform puts the functions and the shared layer on the path.
"""

import local  # noqa: F401 - for its side effect on sys.path
