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

.PHONY: install run test system-packages authz-window lint typecheck bench synth deploy invoke events samples schemas clean

install: $(STAMP)

# The first install downloads about 150 packages (the CDK library is the largest): a few
# minutes. pip prints each package as it goes, so the progress shows.
$(STAMP): pyproject.toml
	@echo "==> Creating $(VENV) and installing the Python packages (first time: a few minutes) ..."
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --progress-bar on --upgrade pip
	$(PY) -m pip install --progress-bar on '.[dev]'
	touch $@
	@echo "==> $(VENV) is ready"

$(CDK): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

run: $(STAMP)
	$(PY) -m local.run

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy functions layers/shared/python local infra bench tests

# The suite, then the integration and end-to-end suites again with every function going
# through PgBouncer in transaction pooling mode (as through RDS Proxy on AWS), with the
# 500-session scale test.
test: $(STAMP) $(CDK) lint typecheck system-packages
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

# Debian packages the suite needs: PgBouncer (the pooled pass) and Chromium (the /docs
# browser test). Installed here when running as root (CI does); under CI=true their absence
# fails; elsewhere the tests that need them do not run and say so.
system-packages:
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


bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

# Synthesizes every template into cdk.out (cdk-nag checks them on the way: a finding
# neither fixed nor acknowledged in infra/cdk/inkwell_infra/nag.py fails it), then cfn-lint.
synth: $(STAMP) $(CDK)
	$(CDK) synth --quiet --no-notices $(CDK_ARGS)
	$(VENV)/bin/cfn-lint cdk.out/*.template.json

deploy: $(STAMP) $(CDK)
	$(CDK) deploy --all --no-notices $(CDK_ARGS)

# make invoke FN=users-register EVENT=events/users-register.json
invoke: $(STAMP)
	$(PY) -m local.invoke $(FN) $(EVENT)

# Recent events on the local bus, their deliveries and dead letters (the running platform's
# data dir, or INKWELL_DATA_DIR's), e.g. make events ARGS=--dead
events: $(STAMP)
	@$(PY) -m local.events $(ARGS)

# How long a demotion and a deactivation take to reach content and comments, against a
# running `make run` (its admin in INKWELL_ADMIN_USERNAME / INKWELL_ADMIN_PASSWORD).
authz-window: $(STAMP)
	@$(PY) -m local.authz_window $(ARGS)

# Regenerate the sample events under events/ (a test fails when they are stale).
samples: $(STAMP)
	$(PY) -m local.sample_events

# Regenerate the event schemas under events/schemas/ from inkwell.event_models (a test
# fails when they are stale).
schemas: $(STAMP)
	$(PY) -m local.event_schemas

clean:
	rm -rf cdk.out build .mypy_cache .ruff_cache .pytest_cache
