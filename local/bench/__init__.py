"""`make bench`: cold starts, warm latency and SQL round trips of every function.

Run with ``python -m local.bench`` (see ``local/bench/runner.py`` for what is measured and
how). This package's ``__init__`` stays empty on purpose: the cold-start child process of
the hello-world baseline imports ``local.bench.baselines``, and nothing here may add to
what it measures.
"""
