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
# Extra benchmark arguments, e.g. make bench BENCH_ARGS='--only cold warm' (python -m bench --help)
BENCH_ARGS ?=

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
	$(VENV)/bin/mypy functions layers/shared/python local infra bench tests

test: $(STAMP) lint typecheck
	$(VENV)/bin/pytest -n 2 --dist loadgroup

bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

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
