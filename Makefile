# Two commands do all set-up on a fresh machine:
#   make paper   regenerate every analytic claim and figure of the paper into report/
#   make test    run the test suite (what CI runs)
# Both create .venv and install the project into it on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test paper lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

paper: $(STAMP)
	$(BIN)/brud paper-checks --out report/

lint: $(STAMP)
	$(BIN)/ruff check .

# Speed tables (minutes; not part of the tests): symbolic solver vs sympy.solve, vectorised
# polynomial-game trainer vs a NumPy loop, HalfCheetah MADDPG+CQL updates/s.
bench: $(STAMP)
	$(BIN)/python benchmarks/symbolic.py
	$(BIN)/python benchmarks/polygame_training.py
	$(BIN)/python benchmarks/halfcheetah_updates.py

clean:
	rm -rf $(VENV) report
