# The two commands: `make demo` (main job on the built-in default config) and
# `make test` (the whole test suite). Both install what is missing first.
PY := .venv/bin/python

.PHONY: setup demo test test-slow bench golden clean

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/hwgen check tiny
	.venv/bin/hwgen generate tiny -o build/demo
	.venv/bin/hwgen sim tiny --sim verilator --workload gemm:64x48x40 --seed 1
	.venv/bin/hwgen estimate tiny --workload gemm:64x48x40

test: setup
	PYTHONWARNINGS=error $(PY) -m pytest -q -n 2 tests

test-slow: setup
	PYTHONWARNINGS=error $(PY) -m pytest -q -n 2 --runslow tests

golden: setup
	$(PY) -m tests.golden.update

bench: setup
	$(PY) benchmarks/run_all.py

clean:
	rm -rf build .pytest_cache
