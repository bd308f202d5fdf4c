# Two commands do everything on a fresh machine:
#   make demo   set up, then run the main job on the bundled sample data
#   make test   set up, then run lint, the layer contract and the tests
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench office clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

office:
	@command -v soffice >/dev/null 2>&1 || bash scripts/install-office.sh

demo: $(STAMP)
	$(BIN)/plan-reports demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/lint-imports

test: $(STAMP) office lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache workbooks/out
