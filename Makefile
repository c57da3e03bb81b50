# Two commands for a fresh machine with Python 3.11 and pip:
#   make demo   set everything up, ingest the sample knowledge base and answer a search
#   make test   set everything up and run the whole test suite
# Each creates the virtual environments it needs on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench-ingest bench-embedding lock clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/genai demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy genai flows tasks registry gateway

bench-ingest: $(STAMP)
	$(BIN)/python benchmarks/ingest/bench_ingest.py

bench-embedding: $(STAMP)
	$(BIN)/python benchmarks/embedding/bench_encoder.py

# Re-pin after changing pyproject.toml: the exact versions that were installed and tested together.
lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^genai-platform' > constraints.txt

clean:
	rm -rf $(VENV) .genai
