# Entry points for learners, instructors and CI. Each target sets itself up: `make test` on a
# fresh machine creates the virtual environment and installs everything first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= auto
OUT ?= outputs
# The torch build this course is tested with; override on machines that need another build,
# e.g. `make install TORCH_PIN="torch torchvision --index-url https://download.pytorch.org/whl/cpu"`.
TORCH_PIN ?= torch==2.14.1 torchvision==0.29.1
SHARED ?= ../shared/data

.PHONY: help install run book-from-run test test-fast test-strict full-tiny lab book outputs sync doctor clean
.DEFAULT_GOAL := help

help: ## this list
	@echo "make TARGET [PROFILE=auto|smoke|laptop|full] [OUT=outputs] [NB=06]"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PIN)
	$(PY) -m pip install -q -e ".[all]"
	touch $@

install: $(VENV)/.installed ## create .venv and install torch ($(TORCH_PIN)) and the course with every extra

run: install ## run every notebook (or NB=...) on PROFILE into OUT/executed, print the results table, build the book of this run into OUT/book
	$(PY) -m course_utils run $(NB) --profile $(PROFILE) --output-dir $(OUT)
	$(MAKE) book-from-run OUT=$(OUT)

book-from-run: install ## the Jupyter Book with OUT's executed notebooks (a copy; notebooks/ is never touched), into OUT/book/_build/html
	tree=$$($(PY) -m course_utils book --from-run $(OUT)) && \
	$(VENV)/bin/jupyter-book build "$$tree" --path-output $(OUT)/book --keep-going && rm -rf "$$tree"
	@echo "Book of this run: $(OUT)/book/_build/html/index.html"

test: install ## the test suite (CI): every notebook on smoke under nbval-lax (marked cells compared), then tests/ (unit, smoke metrics, stored outputs, the book)
	$(PY) -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=900 notebooks tests

test-fast: install ## the fast layer only: tests/unit (no notebook execution, no stored outputs)
	$(PY) -m pytest tests/unit

test-strict: install ## strict nbval: re-run NB (default 02) on laptop with real data, compare EVERY output with the stored one
	COURSE_TEST_PROFILE=laptop COURSE_DATA_ROOT=$(abspath $(SHARED)) $(PY) -m pytest --nbval --nbval-current-env --nbval-cell-timeout=900 \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks/$(or $(NB),02)_*.ipynb

full-tiny: install ## the full (GPU) profile's code paths with seconds of work, every notebook or NB=... (stand-ins flagged)
	$(PY) -m course_utils run $(NB) --profile full --tiny --output-dir build/full-tiny

lab: install ## JupyterLab on notebooks/ (adds --allow-root when run as root, e.g. in a container)
	$(VENV)/bin/jupyter lab notebooks/ $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

book: install ## the Jupyter Book from the outputs STORED in notebooks/ (a laptop run), into _build/html
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "Book: _build/html/index.html"

outputs: install ## re-run NB (default all) on laptop with the real data in SHARED; store outputs in notebooks/, metrics in book/metrics/, then the results page and README's table
	$(PY) -m course_utils run $(NB) --profile laptop --data-root $(SHARED) --output-dir build/laptop --store
	$(PY) -m course_utils results --metrics-dir book/metrics --dest book/results.md --readme README.md

sync: install ## jupytext --sync: bring each .ipynb and its .py twin up to date with the newer one
	$(VENV)/bin/jupytext --sync notebooks/*.ipynb

doctor: install ## versions, GPUs per framework, data cache and mirror status
	$(PY) -m course_utils doctor

clean: ## remove build outputs (_build, build, outputs); never notebooks/ or the data cache
	rm -rf _build build outputs notebooks/outputs .pytest_cache
