SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules
# Tunables (never put a comment after a value: its spaces join the value).
PYTHON  ?= python3.11
VENV    ?= .venv
PY      := $(VENV)/bin/python
SIM     ?= icarus
WAVES   ?= 0
VECTORS ?= 200
BOARD   ?= ecp5-85f
MODEL   ?= qg_mlp
VIVADO  ?= vivado
VITIS_HLS ?= vitis_hls
PYTEST_ARGS ?=
QUICK   ?= 0
DEMO_ARGS ?=
export YOWASP_CACHE_DIR ?= $(HOME)/.cache/yowasp
.DEFAULT_GOAL := all

.PHONY: all help setup test demo lint unit sim hls hls-config hls-csim hls-accel model bitstream bitstream-smoke \
        bitstream-vendor synth-check regmap regmap-check rtl-gen bench bench-feed bench-cpu bench-fix bench-e2e \
        bench-redis bench-failover test-board-runtime package fw-verify clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n",$$1,$$2}'

# ---------------------------------------------------------------------------------------------------
# Set-up: one venv with the project (editable) and every tool; re-runs only when pyproject changes.
SETUP_STAMP := $(VENV)/.setup-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

setup: $(SETUP_STAMP)  ## create .venv, install the project and its tools (idempotent)

$(SETUP_STAMP): pyproject.toml
	@command -v iverilog >/dev/null && command -v redis-server >/dev/null && command -v verilator >/dev/null || { \
	  echo "setup: installing iverilog, verilator, redis-server with apt-get"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iverilog verilator redis-server >/dev/null; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip setuptools wheel
	$(PY) -m pip install -q -e '.[ml,sim,test,fpga]'
	@rm -f $(VENV)/.setup-*
	@touch $@

# ---------------------------------------------------------------------------------------------------
test: setup test-board-runtime  ## ruff + the whole test suite (what CI runs; no vendor tools, no board)
	$(VENV)/bin/ruff check control models hls hw firmware sim bench tests
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

lint: setup  ## ruff + Verilator lint
	$(VENV)/bin/ruff check control models hls hw firmware sim bench tests
	$(PY) -m pytest -q tests/hw/test_lint.py

regmap: setup  ## regenerate hw/rtl/gen/regmap.vh, qg_core_regs.v, control/driver/regmap.py, firmware/REGMAP.md
	$(PY) firmware/gen_regmap.py

regmap-check: setup  ## fail if any file generated from firmware/regmap.yaml is stale
	$(PY) -m pytest -q tests/test_regmap_sync.py

rtl-gen: setup  ## regenerate hw/rtl/gen from models/$(MODEL)/config.yaml and models/$(MODEL)/artifacts (needs TF)
	$(PY) -m hw.gen_feature_params --model $(MODEL)
	$(PY) -m hw.gen_nn_core --artifacts models/$(MODEL)/artifacts

sim: setup  ## cocotb RTL tests (SIM=icarus|verilator, VECTORS=n, WAVES=1)
	SIM=$(SIM) WAVES=$(WAVES) VECTORS=$(VECTORS) $(PY) -m pytest -n 2 sim $(PYTEST_ARGS)

demo: setup  ## replay the bundled real Binance capture (RTL slice in Icarus + CPU), quote over FIX to our venue, report
	$(VENV)/bin/quoteguard demo $(DEMO_ARGS)

bench: setup  ## every benchmark in one table: reports/bench/BENCH.md + bench.json (QUICK=1: small counts)
	$(VENV)/bin/quoteguard bench $(if $(filter 1,$(QUICK)),--quick)

bench-feed: setup  ## market-data replay (decode + book + top-N) vs json.loads / orjson loops
	$(PY) bench/feed_replay.py tests/data/binance/btcusdt_20240718.gz

bench-cpu: setup  ## CPU reference vs QKeras / tf.function / hls4ml C-sim (one core)
	$(PY) bench/cpu_inference.py

bench-fix: setup  ## FIX encode/send and receive/parse/validate vs raw simplefix
	$(PY) bench/fix.py

bench-e2e: setup  ## appliance end to end, CPU backend: per-stage us p50/p99/p99.9, events/s, RSS
	$(PY) bench/end_to_end.py

bench-redis: setup  ## events/s through Redis Streams (real redis-server on 127.0.0.1)
	$(PY) bench/redis_throughput.py

bench-failover: setup  ## rtl -> cpu failover: detection and switch time per injected fault
	$(PY) bench/failover_switch.py

# PYNQ 4.0 pins numpy<2: its transport is tested in a runtime-only venv, as on a board image.
PYNQ_VENV ?= build/pynq-venv
test-board-runtime: setup  ## PYNQ transport test in a separate runtime venv (pynq 4.0.0, numpy<2)
	test -x $(PYNQ_VENV)/bin/python || $(PYTHON) -m venv $(PYNQ_VENV)
	$(PYNQ_VENV)/bin/pip install -q "pynq==4.0.0" "numpy<2" pyyaml pytest
	$(PYNQ_VENV)/bin/python -m pytest -o addopts="" --import-mode=importlib -p no:cacheprovider tests/control/test_driver_pynq.py

model: setup  ## train, evaluate and export the quantized model -> models/$(MODEL)/artifacts
	$(VENV)/bin/quoteguard model train --config $(MODEL)
	$(VENV)/bin/quoteguard model evaluate --config $(MODEL)
	$(VENV)/bin/quoteguard model export --config $(MODEL)

clean:  ## remove build output (keeps .venv)
	rm -rf build reports sim_build .pytest_cache


# ---------------------------------------------------------------------------------------------------
# Bitstreams (issue 5). Open ECP5 flow: pip yowasp-* only; vendor flows stop with exit 2 without tools.
SYN_TIMEOUT ?= 7200
VENDOR_BOARD ?= pynq-z2

all: bitstream  ## build the bitstreams (open ECP5 flow here; vendor flow where installed)
	@if command -v $(VIVADO) >/dev/null 2>&1; then $(MAKE) bitstream-vendor BOARD=$(VENDOR_BOARD); \
	 else echo "all: vendor flow skipped ($(VIVADO) not on PATH); open-flow bitstream in firmware/ecp5-85f/"; fi

bitstream: setup  ## ECP5-85F bitstream: yosys -> nextpnr-ecp5 -> ecppack; fails below the Fmax target
	$(PY) -m hw.syn.open_flow --board ecp5-85f --timeout $(SYN_TIMEOUT)

bitstream-smoke: setup  ## CI-safe full open flow on the small stand-in core (~10 s warm)
	$(PY) -m hw.syn.open_flow --board ecp5-85f --smoke

bitstream-vendor: setup  ## Vivado/Vitis bitstream for BOARD=pynq-z2|zcu104|alveo-u250 (exit 2 without the tools)
	@hw/syn/require_tool.sh bitstream-vendor $(VIVADO)
	$(PY) -m hw.syn.vendor --board $(BOARD)

synth-check: setup  ## yosys synth_xilinx resource pre-check of qg_core_top (BOARD=pynq-z2|zcu104)
	$(PY) -m hw.syn.synth_check --board $(if $(filter ecp5-85f,$(BOARD)),$(VENDOR_BOARD),$(BOARD))

package: setup  ## fill firmware/$(BOARD)/ (image + manifest.json) from a finished build in build/$(BOARD)/
	$(PY) -m hw.syn.package --board $(BOARD)

fw-verify: setup  ## verify every firmware/*/manifest.json against this checkout (hashes, model, regmap)
	$(VENV)/bin/quoteguard fw verify

hls-config: setup  ## regenerate hls/$(MODEL)/hls4ml_config.yml (GENERATED) from config.yaml + the exported model
	$(PY) -m hls.convert --model $(MODEL) --write-config

hls: setup  ## hls4ml project + g++ C simulation from the committed config; exact vs QKeras on every golden vector
	$(PY) -m hls.convert --model $(MODEL)

hls-csim: setup  ## hls4ml C-sim tests (pytest -m hls)
	$(PY) -m pytest -m hls tests/hls $(PYTEST_ARGS)

hls-accel: setup  ## hls4ml VivadoAccelerator project + bitstream for BOARD=pynq-z2|zcu104 (exit 2 without Vivado HLS)
	@hw/syn/require_tool.sh hls-accel vivado_hls $(VIVADO)
	$(PY) -m hls.accel --model $(MODEL) --board $(BOARD)
