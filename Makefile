# mediagate: `make run` starts the gateway with its embedded X emulator and a demo;
# `make test` installs what it needs, checks generated code and lint, and runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROTOS := $(wildcard proto/mediagate/v1/*.proto)
PY_OUT := service

.PHONY: all run test venv proto proto-check lint pytest clean emulator docs bench

all: test

$(STAMP): service/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -e 'service[dev]'
	touch $@

venv: $(STAMP)

## Generated code: Python stubs (+ .pyi) from proto/, committed under service/mediagate/v1.
proto: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" bash scripts/gen-proto.sh $(PY_OUT)

## Fails when the committed generated code differs from what `make proto` would produce.
proto-check: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" bash scripts/check-proto.sh

lint: $(STAMP)
	$(BIN)/buf lint
	$(BIN)/ruff check service tests scripts bench
	$(BIN)/ruff format --check service tests scripts bench
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider

test: $(STAMP) proto-check lint pytest

run: $(STAMP)
	$(BIN)/mediagate demo --log-format console

docs: $(STAMP)
	$(BIN)/python scripts/gen-config-doc.py docs/configuration.md

## Throughput and gateway memory over real processes; writes bench/results/upload.json.
bench: $(STAMP)
	$(BIN)/python bench/upload_bench.py --out bench/results/upload.json

emulator: $(STAMP)
	$(BIN)/mediagate emulator --port 8400

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
