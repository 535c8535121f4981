# Two entry points do all the set-up on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
RUN ?= runs/seed
APT_PACKAGES := apertium apertium-fr-es apertium-eng-spa

.PHONY: setup system-deps run test lint typecheck bench clean

setup: $(VENV)/.installed system-deps

# CPU torch first: an unpinned torch would pull gigabytes of CUDA wheels.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[models,dev,ray]"
	touch $@

# Apertium (offline translation) comes from Debian.
system-deps:
	@if command -v apertium >/dev/null && [ -d /usr/share/apertium/apertium-fr-es ] && [ -d /usr/share/apertium/apertium-eng-spa ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	else \
		echo "NOTE: offline translation needs Debian packages: sudo apt-get install $(APT_PACKAGES)" >&2; \
	fi

run: setup
	$(VENV)/bin/pipeline run corpus/articles --out $(RUN)

test: setup
	HF_HUB_OFFLINE=1 $(VENV)/bin/pytest -q

lint: setup
	$(VENV)/bin/ruff check pipeline eval tests bench
	$(VENV)/bin/ruff format --check pipeline eval tests bench

typecheck: setup
	$(VENV)/bin/mypy pipeline eval --ignore-missing-imports

bench: setup
	$(PY) bench/dedup.py
	$(PY) bench/translate.py

clean:
	rm -rf runs .pytest_cache
