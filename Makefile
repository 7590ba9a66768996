# Two commands do all set-up on a fresh machine:
#   make paper   regenerate every analytic claim and figure of the paper into report/
#   make test    run the test suite (what CI runs)
# Both create .venv on first use and install into it exactly the versions of a lock
# (hash-checked), then the project itself (editable, no dependency resolution). Each target
# installs only the group it needs (pyproject.toml says which lock holds what):
#   requirements.lock            the runtime (make paper, brud, bench)
#   requirements/notebooks.lock  + JupyterLab and the notebook tools (make notebooks)
#   requirements/dev.lock        + tests, lint, types, docs (make test, test-fast, lint, ...)
# `make lock` re-resolves the locks from pyproject.toml (see README, "Updating the lock").
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NOTEBOOKS_STAMP := $(VENV)/.installed-notebooks
DEV_STAMP := $(VENV)/.installed-dev
# The editable install in setuptools' "compat" mode: a plain path in a .pth file, which static
# type checkers (mypy, pyright) follow; the default mode's import hook is invisible to them.
EDITABLE := --no-deps --no-build-isolation --config-settings editable_mode=compat -e .

.PHONY: test test-fast paper notebooks lint typecheck bench clean lock fresh-clone-check docs

# $(call install,LOCK,STAMP): the lock's packages, then the project (editable, no deps).
define install
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --require-hashes -r $(1)
	$(BIN)/python -m pip install -q $(EDITABLE)
	touch $(2)
endef

$(STAMP): pyproject.toml requirements.lock
	$(call install,requirements.lock,$@)

$(NOTEBOOKS_STAMP): pyproject.toml requirements/notebooks.lock
	$(call install,requirements/notebooks.lock,$@)

$(DEV_STAMP): pyproject.toml requirements/dev.lock
	$(call install,requirements/dev.lock,$@)
	touch $(NOTEBOOKS_STAMP) $(STAMP)

# Needs uv (pip install uv); --universal keeps one lock valid on every platform. The dev lock
# is resolved first (keeping the versions it already pins); the smaller locks take their
# versions from it (-c), so every lock pins the same version of a shared package.
UV_COMPILE := uv pip compile pyproject.toml requirements/build.in --universal \
	--python-version 3.11 --generate-hashes
lock:
	$(UV_COMPILE) --extra dev -o requirements/dev.lock
	$(UV_COMPILE) --extra notebooks -c requirements/dev.lock -o requirements/notebooks.lock
	$(UV_COMPILE) -c requirements/dev.lock -o requirements.lock

# A clean clone in a temporary directory running the README's test command: checks that the
# repository alone (not this checkout's .venv) installs and passes.
fresh-clone-check:
	bash scripts/fresh_clone_check.sh

# Every core (at most 4) runs test files in parallel (pytest-xdist; a file stays on one worker so
# its module fixtures are built once); Hypothesis draws the same examples every run (profile ci).
# The notebooks run beside them in one plain process (scripts/run_tests.sh says why not in a
# worker); JAX's compilations are cached in .pytest_cache (tests/conftest.py).
test: $(DEV_STAMP)
	bash scripts/run_tests.sh $(BIN)/python

# The edit-test loop (under a minute on 2 cores): every test not marked slow (tests/conftest.py
# marks the slow files and tests), in one process. Run `make test` before you push.
test-fast: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -x -m "not slow" --hypothesis-profile ci

# HALFCHEETAH_RESULTS=PATH/summary.json judges Fig. 6 from other HalfCheetah results than the
# shipped ones (e.g. those the GPU route brought back: docs/halfcheetah.md, "GPU route").
paper: $(STAMP)
	$(BIN)/brud paper-checks --out report/ $(if $(HALFCHEETAH_RESULTS),--halfcheetah-results $(HALFCHEETAH_RESULTS))

# JupyterLab on the example notebooks (installs the notebooks group on first use).
notebooks: $(NOTEBOOKS_STAMP)
	$(BIN)/jupyter lab examples/

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

# Static types, settings in pyproject.toml [tool.mypy]; incremental cache in .mypy_cache
# (tests/test_types.py runs the same check).
typecheck: $(DEV_STAMP)
	$(BIN)/mypy brud_analysis verify paper_checks

# API reference + theory as a static site in site/; warnings are errors (tests/test_docs.py
# runs the same build).
docs: $(DEV_STAMP)
	$(BIN)/mkdocs build --strict

# Speed tables (minutes; not part of the tests): symbolic solver vs sympy.solve, vectorised
# polynomial-game trainer vs a NumPy loop, HalfCheetah MADDPG+CQL updates/s.
bench: $(STAMP)
	$(BIN)/python benchmarks/symbolic.py
	$(BIN)/python benchmarks/polygame_training.py
	$(BIN)/python benchmarks/halfcheetah_updates.py

clean:
	rm -rf $(VENV) report site
