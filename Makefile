# The README's commands. Everything goes through scripts/install-deps.sh first,
# so a fresh Debian 12 machine needs nothing else.
BUILD_DIR ?= build
CONFIG ?= config/default.toml
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: deps test-deps build run test bench clean

deps:
	bash scripts/install-deps.sh

# PGlite (PostgreSQL with pgvector, from npm) for store_postgres's tests:
# Debian 12 has no pgvector. Versions pinned by package-lock.json.
test-deps: deps
	npm ci --prefix tests/support/pglite --no-audit --no-fund

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j$(JOBS)

# Builds and starts the server on the embedded default (Ctrl-C stops it).
run: build
	$(BUILD_DIR)/bin/marketerx serve --config $(CONFIG)

# Builds with warnings as errors and runs every test (ctest prints the summary).
test: test-deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMX_WERROR=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j$(JOBS)
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) --timeout 600

# The benchmark table (docs/performance.md); minutes, not part of `make test`.
bench: build
	BUILD_DIR=$(abspath $(BUILD_DIR)) bench/run.sh

clean:
	rm -rf $(BUILD_DIR)
