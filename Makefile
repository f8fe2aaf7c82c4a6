# Two entry points for a fresh clone: `make demo` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# nbgrader shells out to `alembic` from PATH: always run with the venv's bin/ first.
export PATH := $(abspath $(BIN)):$(PATH)
export MPLBACKEND := Agg

STAMP := $(VENV)/.installed

.PHONY: install demo test test-quick docs bench bench-isolation bench-scale bench-serve audit notebooks student clean

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

# The inner loop (about 2 minutes): the tests not marked slow (notebooks executed, submissions
# graded) or browser (Chromium); `make test` runs them all.
test-quick: install
	$(BIN)/python -m pytest tests -m "not slow and not browser"

# The documentation site, docs/*.md -> docs/_build/html, warnings as errors.
docs: install
	$(BIN)/python -m sphinx -W --keep-going -n -q -b html docs docs/_build/html

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
	rm -rf $(VENV) .pytest_cache docs/_build

notebooks: install
	$(BIN)/python -m autograder.author

# JupyterLab for students, as root or as an ordinary user, writing nothing into the repository:
# the chapters are copied once into STUDENT_DIR (never over a student's work), and the Jupyter
# configuration into a fresh folder under /tmp, removed when JupyterLab ends (workspaces,
# runtime files and jupyter's `migrated` mark go there). student/jupyter/ disables nbgrader's
# instructor tools (labconfig/page_config.json) and saves widget state with the notebook
# (lab/user-settings), so a reopened notebook still shows its explorers. LAB_ARGS: more
# options for `jupyter lab` (e.g. --no-browser --port=8890).
STUDENT_DIR ?= $(HOME)/cnn-basics-course
LAB_ARGS ?=
student: install
	@mkdir -p "$(STUDENT_DIR)"; \
	for chapter in release/*/; do \
	    [ -e "$(STUDENT_DIR)/$$(basename "$$chapter")" ] || cp -r "$$chapter" "$(STUDENT_DIR)/"; \
	done; \
	config=$$(mktemp -d -t cnn-course-jupyter.XXXXXX); trap 'rm -rf "$$config"' EXIT; \
	cp -r student/jupyter/. "$$config/"; \
	echo "the chapters are in $(STUDENT_DIR)"; \
	JUPYTER_CONFIG_DIR="$$config" JUPYTER_RUNTIME_DIR="$$config/runtime" \
	    $(BIN)/jupyter lab --ServerApp.root_dir="$(STUDENT_DIR)" \
	    --LabApp.workspaces_dir="$$config/workspaces" \
	    $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS)
