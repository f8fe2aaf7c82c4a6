# Two entry points for a fresh clone: `make demo` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# nbgrader shells out to `alembic` from PATH: always run with the venv's bin/ first.
export PATH := $(abspath $(BIN)):$(PATH)
export MPLBACKEND := Agg

STAMP := $(VENV)/.installed

.PHONY: install demo test bench bench-isolation bench-scale bench-serve audit notebooks student clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps d2l==1.0.3
	$(BIN)/python -c "from d2l import torch as d2l; import nbgrader, nbval, ipywidgets"
	touch $(STAMP)

demo: install
	$(BIN)/python -m autograder.tools.demo

test: install
	$(BIN)/python -m pytest tests source --nbval --nbval-current-env

bench-isolation: install
	$(BIN)/python -m autograder.tools.bench_isolation

bench: install
	$(BIN)/python -m autograder.tools.bench

bench-scale: install
	$(BIN)/python -m autograder.tools.bench_scale

# The grading service (autograde serve): one student at a time, then a deadline rush.
bench-serve: install
	$(BIN)/python -m autograder.tools.bench_serve

# Mutation testing of the hidden tests: every first-order mutant of the answer key.
audit: install
	$(BIN)/python -m autograder.author.audit

clean:
	rm -rf $(VENV) .pytest_cache

notebooks: install
	$(BIN)/python -m autograder.author

# JupyterLab for students: nbgrader's instructor tools (Create Assignment, Formgrader, Course
# List, the Nbgrader menu) are disabled by student/jupyter/labconfig/page_config.json; widget
# state is saved with the notebook (student/jupyter/lab/user-settings), so a reopened notebook
# still shows its explorers.
student: install
	JUPYTER_CONFIG_DIR=$(CURDIR)/student/jupyter $(BIN)/jupyter lab release/
