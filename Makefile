# Two commands do all set-up on a fresh machine:
#   make paper   regenerate every analytic claim and figure of the paper into report/
#   make test    run the test suite (what CI runs)
# Both create .venv on first use and install into it exactly the versions in requirements.lock
# (hash-checked), then the project itself (editable, no dependency resolution).
# `make lock` re-resolves requirements.lock from pyproject.toml (see README, "Updating the lock").
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test paper lint typecheck bench clean lock fresh-clone-check docs

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --require-hashes -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Needs uv (pip install uv); --universal keeps one lock valid on every platform.
lock:
	uv pip compile pyproject.toml requirements/build.in --extra dev --extra all --universal \
		--python-version 3.11 --generate-hashes -o requirements.lock

# A clean clone in a temporary directory running the README's test command: checks that the
# repository alone (not this checkout's .venv) installs and passes.
fresh-clone-check:
	bash scripts/fresh_clone_check.sh

# Every core (at most 4) runs test files in parallel (pytest-xdist; a file stays on one worker so
# its module fixtures are built once); Hypothesis draws the same examples every run (profile ci).
# The notebooks run afterwards in one plain process: under an xdist worker a notebook's Jupyter
# kernel twice stalled nbclient on a quiet machine (both kernel and client idle), never alone.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist loadfile --hypothesis-profile ci \
		--ignore tests/test_notebooks.py
	$(BIN)/python -m pytest -q --hypothesis-profile ci tests/test_notebooks.py

paper: $(STAMP)
	$(BIN)/brud paper-checks --out report/

lint: $(STAMP)
	$(BIN)/ruff check .

# Static types, settings in pyproject.toml [tool.mypy]; incremental cache in .mypy_cache
# (tests/test_types.py runs the same check).
typecheck: $(STAMP)
	$(BIN)/mypy brud_analysis verify paper_checks

# API reference + theory as a static site in site/; warnings are errors (tests/test_docs.py
# runs the same build).
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

# Speed tables (minutes; not part of the tests): symbolic solver vs sympy.solve, vectorised
# polynomial-game trainer vs a NumPy loop, HalfCheetah MADDPG+CQL updates/s.
bench: $(STAMP)
	$(BIN)/python benchmarks/symbolic.py
	$(BIN)/python benchmarks/polygame_training.py
	$(BIN)/python benchmarks/halfcheetah_updates.py

clean:
	rm -rf $(VENV) report site
