# Inkwell: every target installs what it needs into .venv (Python) and node_modules (CDK CLI).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CDK := node_modules/.bin/cdk
export PYTHONPATH := functions:layers/shared/python:.
export CDK_DISABLE_CLI_TELEMETRY := true
# Extra CDK CLI arguments, e.g. make deploy CDK_ARGS='-c stage=prod -c alarmEmail=ops@example.com
#   -c corsOrigins=https://blog.example.com -c emailSender=no-reply@example.com' (docs/deploy.md)
CDK_ARGS ?=
# Extra benchmark arguments, e.g. make bench BENCH_ARGS='--only cold warm' (python -m bench --help)
BENCH_ARGS ?=
# uv (pinned in pyproject.toml's dev extra) owns uv.lock; bootstrapped into the venv by pip.
UV := $(VENV)/bin/uv
UV_VERSION := $(shell sed -n 's/^ *"uv==\([^"]*\)".*/\1/p' pyproject.toml)
# `ruff format --check` is part of `make test` (FORMAT_CHECK= skips it for a quick run).
FORMAT_CHECK ?= 1

.PHONY: help install run test unit system-packages authz-window lint format-check lock-check \
	typecheck bench synth deploy invoke events samples schemas clean
.DEFAULT_GOAL := install

help: ## This list of targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-15s %s\n", $$1, $$2}' \
	  $(MAKEFILE_LIST)

install: $(STAMP) ## Create .venv with exactly the versions uv.lock pins

# The first install downloads about 150 packages (the CDK library is the largest): a few
# minutes. pip prints each package as it goes, so the progress shows. pip installs the
# lock's list as it is (every version and file hash pinned, nothing resolved again).
$(STAMP): pyproject.toml uv.lock
	@echo "==> Creating $(VENV) and installing the Python packages (first time: a few minutes) ..."
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --progress-bar on --upgrade pip 'uv==$(UV_VERSION)'
	$(UV) export --quiet --frozen --extra dev --no-emit-project --format requirements.txt \
	  --output-file $(VENV)/requirements.txt
	$(PY) -m pip install --progress-bar on --no-deps --require-hashes \
	  --requirement $(VENV)/requirements.txt
	touch $@
	@echo "==> $(VENV) is ready"

$(CDK): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

run: $(STAMP) ## The whole platform locally (embedded PostgreSQL, no Docker, no AWS)
	$(PY) -m local.run

lint: $(STAMP) ## ruff check
	$(VENV)/bin/ruff check .

format-check: $(STAMP) ## ruff format --check (part of `make test`)
	$(VENV)/bin/ruff format --check .

# uv.lock still matches pyproject.toml (no network: an out-of-date lock fails).
lock-check: $(STAMP) ## uv.lock is up to date with pyproject.toml
	$(UV) lock --check --offline --quiet

typecheck: $(STAMP) ## mypy
	$(VENV)/bin/mypy functions layers/shared/python local infra bench tests

# The suite, then the integration and end-to-end suites again with every function going
# through PgBouncer in transaction pooling mode (as through RDS Proxy on AWS), with the
# 500-session scale test.
test: $(STAMP) $(CDK) lint $(if $(FORMAT_CHECK),format-check) lock-check typecheck system-packages ## Everything: ruff, lock, mypy, the whole suite with coverage, the PgBouncer pass
	$(VENV)/bin/pytest -n 2 --dist loadgroup --ignore=tests/scale $(COVERAGE)
	@if command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ]; then \
	  INKWELL_TEST_PGBOUNCER=1 $(VENV)/bin/pytest -n 2 --dist loadgroup -q \
	    tests/integration tests/e2e && \
	  INKWELL_TEST_PGBOUNCER=1 $(VENV)/bin/pytest -q -s tests/scale; \
	elif [ "$${CI:-}" = true ]; then \
	  echo "pgbouncer is required in CI" >&2; exit 1; \
	else \
	  echo "NOT RUN: the suites through PgBouncer (install Debian's pgbouncer package)"; \
	fi

# Coverage of the first pass (all the suites; the PgBouncer pass runs the same code again).
COVERAGE_FLOOR := 91
COVERAGE := --cov --cov-report=term:skip-covered --cov-fail-under=$(COVERAGE_FLOOR)

unit: $(STAMP) ## The unit tests only (no database, no CDK): seconds
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/unit

# Debian packages the suite needs: PgBouncer (the pooled pass) and Chromium (the /docs
# browser test). Installed here when running as root (CI does); under CI=true their absence
# fails; elsewhere the tests that need them do not run and say so.
system-packages: ## Install the Debian packages the suite needs (as root)
	@missing=""; \
	command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || missing="$$missing pgbouncer"; \
	command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "==> Installing$$missing (apt-get) for the test suite ..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends $$missing; \
	  elif [ "$${CI:-}" = true ]; then \
	    echo "CI needs$$missing: apt-get install$$missing" >&2; exit 1; \
	  else \
	    echo "note:$$missing not installed: the tests that need them do not run" \
	      "(sudo apt-get install$$missing)"; \
	  fi; \
	fi


bench: $(STAMP) ## Benchmark cold starts, latency, round trips, reads at scale (docs/performance.md)
	$(PY) -m bench $(BENCH_ARGS)

# Synthesizes every template into cdk.out (cdk-nag checks them on the way: a finding
# neither fixed nor acknowledged in infra/cdk/inkwell_infra/nag.py fails it), then cfn-lint.
synth: $(STAMP) $(CDK) ## Synthesize the templates (offline), cdk-nag and cfn-lint
	$(CDK) synth --quiet --no-notices $(CDK_ARGS)
	$(VENV)/bin/cfn-lint cdk.out/*.template.json

deploy: $(STAMP) $(CDK) ## cdk deploy --all (CDK_ARGS=...)
	$(CDK) deploy --all --no-notices $(CDK_ARGS)

# make invoke FN=users-register EVENT=events/users-register.json
invoke: $(STAMP) ## Invoke one function with an event: FN=... EVENT=...
	$(PY) -m local.invoke $(FN) $(EVENT)

# Recent events on the local bus, their deliveries and dead letters (the running platform's
# data dir, or INKWELL_DATA_DIR's), e.g. make events ARGS=--dead
events: $(STAMP) ## The local bus's recent events and dead letters (ARGS=--dead)
	@$(PY) -m local.events $(ARGS)

# How long a demotion and a deactivation take to reach content and comments, against a
# running `make run` (its admin in INKWELL_ADMIN_USERNAME / INKWELL_ADMIN_PASSWORD).
authz-window: $(STAMP) ## How long a demotion takes to reach the other domains
	@$(PY) -m local.authz_window $(ARGS)

# Regenerate the sample events under events/ (a test fails when they are stale).
samples: $(STAMP) ## Regenerate the sample events under events/
	$(PY) -m local.sample_events

# Regenerate the event schemas under events/schemas/ from inkwell.event_models (a test
# fails when they are stale).
schemas: $(STAMP) ## Regenerate the event schemas under events/schemas/ from the models
	$(PY) -m local.event_schemas

clean: ## Remove build outputs and caches
	rm -rf cdk.out build .mypy_cache .ruff_cache .pytest_cache
