# Two entry points for a fresh clone: `make demo` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# nbgrader shells out to `alembic` from PATH: always run with the venv's bin/ first.
export PATH := $(abspath $(BIN)):$(PATH)
export MPLBACKEND := Agg

STAMP := $(VENV)/.installed

.PHONY: install demo test test-quick docs bench bench-isolation bench-scale bench-serve audit notebooks student clean dist hub hub-stop

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
	$(BIN)/python -m pytest tests source --nbval --nbval-current-env --durations=30

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
	rm -rf $(VENV) .pytest_cache docs/_build dist

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
