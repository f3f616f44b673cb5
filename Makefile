# Two commands for a fresh machine with python3 and make: `make train`, `make test`.
SHELL := /bin/bash
PYTHON ?= python3
UV := .tools/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: setup train test test-fast bench bazel-test phf-compare clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==0.13.8

# --compile-bytecode: processes start from .pyc files even where PYTHONDONTWRITEBYTECODE
# is set (`import tensorflow` 11 s from source, 4.7 s compiled; docs/performance.md).
$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --extra tfds --compile-bytecode
	touch $(STAMP)

setup: $(STAMP)

train: $(STAMP)
	$(VENV)/bin/tfllm-pretrain --config=configs/phf_pep8.py --workdir=runs/phf_pep8

test: $(STAMP)
	$(VENV)/bin/python -m pytest -n 2 --dist=loadfile --no-loadscope-reorder tests

test-fast: $(STAMP)
	$(VENV)/bin/python -m pytest -n 2 -m "not slow" tests

bench: $(STAMP)
	$(VENV)/bin/python tools/bench.py --task=train --json
	$(VENV)/bin/python tools/bench.py --task=generate --json
	$(VENV)/bin/python tools/bench.py --task=data --json

bazel-test: $(STAMP)
	bash tools/bazel_test.sh

phf-compare: $(STAMP)
	$(VENV)/bin/python tools/phf_compare.py --finetune=0.25

clean:
	rm -rf runs bazel-*
