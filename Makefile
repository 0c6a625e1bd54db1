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

.PHONY: install run test test-fast lab book outputs sync doctor clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PIN)
	$(PY) -m pip install -q -e ".[all]"
	touch $@

install: $(VENV)/.installed

## Run every notebook with the default profile, print the results table, build the book.
run: install
	$(PY) -m course_utils run --profile $(PROFILE) --output-dir $(OUT)
	$(MAKE) book

## The test suite (what CI runs): unit tests, every notebook in smoke through nbval, the book.
test: install
	$(PY) -m pytest

## Unit tests only (seconds).
test-fast: install
	$(PY) -m pytest -m "not slow"

lab: install
	$(VENV)/bin/jupyter lab notebooks/

book: install
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "Book: _build/html/index.html"

## Re-run the notebooks on the laptop profile with the real data in $(SHARED) and store their
## outputs in notebooks/ (what GitHub and the book show) and their metrics in book/metrics/, from
## which the results page and README's table are generated.
outputs: install
	$(PY) -m course_utils run $(NB) --profile laptop --data-root $(SHARED) --output-dir build/laptop --store
	$(PY) -m course_utils results --metrics-dir book/metrics --dest book/results.md --readme README.md

sync: install
	$(VENV)/bin/jupytext --sync notebooks/*.ipynb

doctor: install
	$(PY) -m course_utils doctor

clean:
	rm -rf _build build outputs notebooks/outputs .pytest_cache
