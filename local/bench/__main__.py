"""`python -m local.bench` (what `make bench` runs)."""

from local.bench.runner import main

raise SystemExit(main())
