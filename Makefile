# Two entry points for a fresh clone: `make demo` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# nbgrader shells out to `alembic` from PATH: always run with the venv's bin/ first.
export PATH := $(abspath $(BIN)):$(PATH)
export MPLBACKEND := Agg

STAMP := $(VENV)/.installed

.PHONY: install demo test bench bench-isolation bench-scale audit notebooks student clean dist hub hub-stop

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps d2l==1.0.3
	$(BIN)/python -c "from d2l import torch as d2l; import nbgrader, nbval, ipywidgets"
	touch $(STAMP)

# configurable-http-proxy (JupyterHub's proxy) from npm, in the venv: `make hub`, tests/test_hub.py
CHP := $(VENV)/chp/node_modules/.bin/configurable-http-proxy
$(CHP):
	npm install --silent --prefix $(VENV)/chp configurable-http-proxy@5

demo: install
	$(BIN)/python -m autograder.tools.demo

test: install $(CHP)
	$(BIN)/python -m pytest tests source --nbval --nbval-current-env

bench-isolation: install
	$(BIN)/python -m autograder.tools.bench_isolation

bench: install
	$(BIN)/python -m autograder.tools.bench

bench-scale: install
	$(BIN)/python -m autograder.tools.bench_scale

# Mutation testing of the hidden tests: every first-order mutant of the answer key.
audit: install
	$(BIN)/python -m autograder.author.audit

clean:
	rm -rf $(VENV) .pytest_cache dist

# The two wheels: dist/course_cnn_basics-*.whl (students: course, no answers) and
# dist/cnn_basics_grader-*.whl (instructors: the grader, the answer key, the builder).
dist: install
	rm -rf dist
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir dist . ./student
	rm -rf build student/build *.egg-info
	ls -l dist

# The course's JupyterHub on http://127.0.0.1:8000 for a try-out (as root): an instructor and
# three students, their passwords printed; Ctrl-C (or `make hub-stop`) stops it and removes them.
hub: dist $(CHP)
	$(BIN)/python deploy/tryout.py start

hub-stop:
	$(BIN)/python deploy/tryout.py stop

notebooks: install
	$(BIN)/python -m autograder.author

# JupyterLab for students: nbgrader's instructor tools (Create Assignment, Formgrader, Course
# List, the Nbgrader menu) are disabled by student/jupyter/labconfig/page_config.json; widget
# state is saved with the notebook (student/jupyter/lab/user-settings), so a reopened notebook
# still shows its explorers.
student: install
	JUPYTER_CONFIG_DIR=$(CURDIR)/student/jupyter $(BIN)/jupyter lab release/
