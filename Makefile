# Top-level entry points. `make demo` and `make test` set up a fresh Debian machine first.
#   make demo   - install deps, build, then build + sign + verify + run the hello capsule
#   make test   - install deps, build, run every test (release build, then ASan+UBSan, then fuzz)
#   make bench  - side-by-side benchmarks against their peers (see bench/README.md)
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS ?= $(shell nproc)

.PHONY: all setup kubo build demo test test-release test-asan test-fuzz bench clean

all: build

setup:
	@bash scripts/setup.sh

kubo: setup
	@bash scripts/build-kubo.sh >/dev/null

build: setup
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@ninja -C $(BUILD)

demo: build
	@bash scripts/demo.sh $(BUILD)/bin/elastos

test-release: build kubo
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-asan: setup kubo
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DELASTOS_SANITIZE=ON >/dev/null
	@ninja -C $(ASAN_BUILD)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j$(JOBS) -E '^fuzz\.'

test-fuzz: setup
	@CC=clang-14 cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DELASTOS_SANITIZE=ON -DELASTOS_FUZZ=ON -DELASTOS_CAPSULES=OFF >/dev/null
	@ninja -C $(FUZZ_BUILD)
	cd $(FUZZ_BUILD) && ctest --output-on-failure -R '^fuzz\.'

test: test-release test-asan test-fuzz

bench: build kubo
	@bash bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
