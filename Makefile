# madoguchi — two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := demo-data
DEMO_CONFIG := kiosk_config/samples/museum-01.toml
# System packages the suite needs: pcscd + vsmartcard-vpcd (PC/SC peer), swig and
# libpcsclite-dev (pyscard builds from source), socat (serial null-modem pairs), CJK fonts
# (receipt raster and previews), pg_isready. As root they are installed; otherwise listed.
APT_PACKAGES := pcscd vsmartcard-vpcd swig libpcsclite-dev socat fonts-noto-cjk postgresql-client-common shellcheck cage \
	libglib2.0-0 libegl1 libgl1 libx11-6 libxkbcommon0 libfontconfig1 libfreetype6 libdbus-1-3

.PHONY: demo test test-slow test-fast lint typecheck bench system-deps clean

$(STAMP): pyproject.toml | system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	  else echo "missing system packages:$$missing (run: sudo apt-get install$$missing)"; exit 1; fi; \
	fi

demo: system-deps $(STAMP)
	@if [ -n "$${DISPLAY:-}$${WAYLAND_DISPLAY:-}" ]; then \
	  $(BIN)/madoguchi demo --config $(DEMO_CONFIG); \
	else \
	  echo "no display: the counter app walks its tour offscreen (screenshots in $(DEMO_DIR)/tour)"; \
	  $(BIN)/madoguchi demo --config $(DEMO_CONFIG) --offscreen --tour $(DEMO_DIR)/tour \
	    --data $(DEMO_DIR)/app 2>/dev/null && \
	  echo "tour: $$(ls $(DEMO_DIR)/tour | wc -l) screenshots in $(DEMO_DIR)/tour" && \
	  $(BIN)/madoguchi simulate --config $(DEMO_CONFIG) --journal $(DEMO_DIR)/museum.db \
	    --sales 40 --days 1 --seed 1 --open && \
	  $(BIN)/madoguchi report x --journal $(DEMO_DIR)/museum.db && \
	  $(BIN)/madoguchi journal verify $(DEMO_DIR)/museum.db --key $(DEMO_DIR)/museum.key; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check terminal kiosk_config drivers sync ui madoguchi tests bench

typecheck: $(STAMP)
	$(BIN)/mypy --strict terminal sync kiosk_config madoguchi drivers ui

test: system-deps $(STAMP) lint typecheck
	$(BIN)/pytest -m "not slow" -q

test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow" -q -x

test-slow: $(STAMP) system-deps
	$(BIN)/pytest -m slow -q

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache .hypothesis
