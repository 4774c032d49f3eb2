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

.PHONY: install run test lint typecheck bench synth deploy invoke events samples clean

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

test: $(STAMP) lint typecheck
	$(VENV)/bin/pytest -n 2 --dist loadgroup

bench: $(STAMP)
	$(PY) -m local.bench

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

# Recent events on the local bus, their deliveries and dead letters (make run's data dir).
events: $(STAMP)
	$(PY) -m local.events

# Regenerate the sample events under events/ (a test fails when they are stale).
samples: $(STAMP)
	$(PY) -m local.sample_events

clean:
	rm -rf cdk.out build .mypy_cache .ruff_cache .pytest_cache
