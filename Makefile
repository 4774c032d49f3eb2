# Inkwell: every target installs what it needs into .venv (Python) and node_modules (CDK CLI).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CDK := node_modules/.bin/cdk
export PYTHONPATH := functions:layers/shared/python:.
export CDK_DISABLE_CLI_TELEMETRY := true
# Extra CDK CLI arguments, e.g. make deploy CDK_ARGS='-c stage=prod -c corsOrigins=https://blog.example.com'
CDK_ARGS ?=

.PHONY: install run test lint typecheck pgbouncer bench synth deploy invoke events samples clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(CDK): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

run: $(STAMP)
	$(PY) -m local.run

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy functions layers/shared/python local infra tests

# The suite, then the integration and end-to-end suites again with every function going
# through PgBouncer in transaction pooling mode (as through RDS Proxy on AWS), with the
# 500-session scale test.
test: $(STAMP) lint typecheck pgbouncer
	$(VENV)/bin/pytest -n 2 --dist loadgroup --ignore=tests/scale
	@if command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ]; then \
	  INKWELL_TEST_PGBOUNCER=1 $(VENV)/bin/pytest -n 2 --dist loadgroup -q \
	    tests/integration tests/e2e && \
	  INKWELL_TEST_PGBOUNCER=1 $(VENV)/bin/pytest -q -s tests/scale; \
	elif [ "$${CI:-}" = true ]; then \
	  echo "pgbouncer is required in CI" >&2; exit 1; \
	else \
	  echo "NOT RUN: the suites through PgBouncer (install Debian's pgbouncer package)"; \
	fi

# PgBouncer from Debian's package: installed when we are root (CI); CI fails without it.
pgbouncer:
	@if ! command -v pgbouncer >/dev/null && [ ! -x /usr/sbin/pgbouncer ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer; \
	  elif [ "$${CI:-}" = true ]; then \
	    echo "pgbouncer is required in CI (apt-get install pgbouncer)" >&2; exit 1; \
	  else \
	    echo "pgbouncer is not installed: the pooled test pass will not run (see README)"; \
	  fi; \
	fi

bench: $(STAMP)
	$(PY) -m local.bench

synth: $(STAMP) $(CDK)
	$(CDK) synth --quiet --no-notices $(CDK_ARGS)

deploy: $(STAMP) $(CDK)
	$(CDK) deploy --all --no-notices $(CDK_ARGS)

# make invoke FN=users-register EVENT=events/users-register.json
invoke: $(STAMP)
	$(PY) -m local.invoke $(FN) $(EVENT)

# Recent events on the local bus, their deliveries and dead letters (make run's data dir).
events: $(STAMP)
	$(PY) -m local.events

# Regenerate the sample events under events/ (a test fails when they are stale).
samples: $(STAMP)
	$(PY) -m local.sample_events

clean:
	rm -rf cdk.out build .mypy_cache .ruff_cache .pytest_cache
