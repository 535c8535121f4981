# Two entry points do all the set-up on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
RUN ?= runs/seed
# apertium-fra-cat, -spa-cat, -eng-cat: the offline translator's second route for unknown words;
# lttoolbox-dev: lt-paradigm, which lists their dictionaries' words to compile the routes' tables.
APT_PACKAGES := apertium apertium-fr-es apertium-eng-spa apertium-fra-cat apertium-spa-cat apertium-eng-cat lttoolbox-dev
APT_DIRS := $(addprefix /usr/share/apertium/,apertium-fr-es apertium-eng-spa apertium-fra-cat apertium-spa-cat apertium-eng-cat)
# bench/report_browser.py opens the report in headless Chromium (not needed by the tests).
BENCH_APT_PACKAGES := chromium

.PHONY: setup system-deps route-tables bench-deps run test lint typecheck bench quality clean

setup: $(VENV)/.installed system-deps route-tables

# CPU torch first: an unpinned torch would pull gigabytes of CUDA wheels.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[models,dev,ray]"
	touch $@

# Apertium (offline translation) comes from Debian.
system-deps:
	@if command -v apertium >/dev/null && command -v lt-paradigm >/dev/null && $(foreach d,$(APT_DIRS),[ -d $(d) ] &&) true; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	else \
		echo "NOTE: offline translation needs Debian packages: sudo apt-get install $(APT_PACKAGES)" >&2; \
	fi

# The offline translator's unknown-word routes, compiled once (~2 min) into lookup tables: each
# translation call then skips ~1.5 s of CPU loading their dictionaries. Skipped if already built
# for the installed packages; without lt-paradigm the routes run live (slower; 7 of newstest2013's
# 3,000 sentences come out differently).
route-tables: $(VENV)/.installed system-deps
	@if command -v lt-paradigm >/dev/null && command -v apertium >/dev/null; then \
		$(VENV)/bin/pipeline models route-tables || echo "NOTE: no route tables: offline translation starts its routes live (slower, nearly the same answers)" >&2; \
	fi

bench-deps:
	@if command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BENCH_APT_PACKAGES) >/dev/null; \
	else \
		echo "NOTE: the report's browser check needs: sudo apt-get install $(BENCH_APT_PACKAGES)" >&2; \
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
	$(PY) bench/throughput.py

# Dev-set quality with the baselines measured in the same run (needs ../shared/datasets).
DATA ?= ../shared/datasets
quality: setup
	$(PY) bench/quality.py summaries --data $(DATA)/orangesum --split valid --target-words 33
	$(PY) bench/quality.py events --data $(DATA)/orangesum
	$(PY) bench/quality.py translation --data $(DATA)/newstest --year 2013

clean:
	rm -rf runs .pytest_cache
