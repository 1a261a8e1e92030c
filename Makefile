# mmdet_clipjoint -- every target works on a fresh clone: it runs the
# (idempotent) set-up first, which takes ~15 min the very first time
# (mmcv is built from source) and a few seconds afterwards.
VENV ?= .venv
PY   := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup test test-slow demo benchmark-smoke clean-venv

setup:
	@bash tools/setup_env.sh

test: setup
	$(PY) -m pytest tests -m "not slow" $(PYTEST_ARGS)

# long end-to-end runs (benchmarks), opt-in
test-slow: setup
	$(PY) -m pytest tests -m slow $(PYTEST_ARGS)

demo: setup
	$(PY) tools/demo.py

# every method x detector, settings clean + both, 1 seed (~10 min on 2 cores)
benchmark-smoke: setup
	$(PY) tools/benchmark_accuracy.py --preset smoke

clean-venv:
	rm -rf $(VENV) .setup-logs
