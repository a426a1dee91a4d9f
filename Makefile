# Two commands do all set-up: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO := demo
DEMO_FLAGS := --model-basedir $(DEMO)/models --epochs 10 --image-size 96

.PHONY: demo test test-fast lint env bench bench-quick

env: $(VENV)/.installed

# Builds the virtual environment with Python 3.10 and the locked versions.
$(VENV)/.installed: setup.py constraints.txt
	@if [ ! -x $(PY) ]; then \
	  base="$$(pyenv which python 2>/dev/null || command -v python3.10)"; \
	  "$$base" -c 'import sys; assert sys.version_info[:2] == (3, 10), \
	    "Python 3.10 is required, found " + sys.version' && \
	  "$$base" -m venv $(VENV); \
	fi
	$(PY) -m pip install --quiet --upgrade pip wheel
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

# Generates sample frames, then trains, evaluates and pushes both layouts.
demo: env
	$(PY) pipeline/sample_data.py $(DEMO)/data --count 240
	$(PY) pipeline/run_local.py -i $(DEMO)/data/class_dirs \
	  --model-name demo-pentagram --schema schemas/class_dirs/schema.pbtxt \
	  $(DEMO_FLAGS)
	$(PY) pipeline/run_local.py -i $(DEMO)/data/labels_csv \
	  --labels $(DEMO)/data/labels_csv/labels.csv \
	  --model-name demo-symbols $(DEMO_FLAGS)

# All tests, the end-to-end pipeline runs included.
test: env
	$(PY) -m pytest -q

# Everything but the end-to-end pipeline runs.
test-fast: env
	$(PY) -m pytest -q -m "not e2e"

lint: env
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# The pipeline against a plain Keras script; see docs/benchmarks.md.
# About 2 minutes on 2 cores; prints the tables, never fails on a timing.
bench-quick: env
	$(PY) benchmarks/run.py --quick

# The full run (about 20 minutes on 2 cores); rewrites the tables in
# docs/benchmarks.md.
bench: env
	$(PY) benchmarks/run.py
