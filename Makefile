# The two set-up commands of README.md, and the rest of the developer loop.
#   make demo   install what is needed, build, run the development CVM demo
#   make test   install what is needed, build (sanitizers + libFuzzer), run every test
#   make e2e    only the end-to-end cases (dev image, cocoon-init, Docker, demo workload)
#   make hostile  every attack the project defends against, one table (tests/hostile/run.py)
#   make image-repro  two builds of the dev image compared byte for byte
#   make fuzz   run each libFuzzer target for FUZZ_SECONDS (default 60)
#   make bench  run the benchmarks under bench/ (release build)
SHELL := /bin/bash
FUZZ_SECONDS ?= 60
MESON_SETUP = meson setup --reconfigure

.PHONY: all deps deps-test deps-demo build build-asan build-fuzz build-release test e2e hostile image-repro fuzz bench demo format clean
.PHONY: demo-setup test-setup fresh-check
.PHONY: deps-deb deb

all: build

deps:
	scripts/install-deps.sh build

deps-test:
	scripts/install-deps.sh build test vm image deb

deps-demo:
	scripts/install-deps.sh build demo

# build/ is what make and make demo run: no tests, so no test dependency (cmocka) is needed
build: deps
	@[ -f build/build.ninja ] || meson setup build -Dtests=false
	ninja -C build

build-asan: deps-test
	@[ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C build-asan

build-fuzz: deps-test
	@[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false -Db_lundef=false
	ninja -C build-fuzz

build-release: deps
	@[ -f build-release/build.ninja ] || meson setup build-release -Dbuildtype=release -Dtests=false
	ninja -C build-release

# build-release is built too: -O3 finds warnings (-Werror) that the other builds miss
test: test-setup
	tests/run-tests.sh build-asan build-fuzz

# the install and build steps of make test and make demo, without running
# anything (tests/integration/fresh_check.sh runs them in a fresh Debian 12 root)
test-setup: build-asan build-fuzz build-release
demo-setup: deps-demo build

# make test's and make demo's set-up steps, each in its own fresh bookworm root
fresh-check:
	tests/integration/fresh_check.sh .

# two builds of the dev image compared byte for byte (make test runs it too)
image-repro:
	python3 tests/integration/image_repro.py

# the end-to-end cases alone (make test runs them too)
e2e: build-asan
	tests/run-tests.sh --suite e2e build-asan

# every attack, one table; cases whose rows this build's make test already
# wrote are read, the rest run here (TCG boots included: e2e caches its boots)
hostile: build-asan
	python3 tests/hostile/run.py build-asan

fuzz: build-fuzz
	tests/fuzz/run-fuzzers.sh build-fuzz $(FUZZ_SECONDS)

# bench/launch.sh boots the test guest, whose init is built with the test build
bench: build-release build-asan
	bench/spec-hash.sh build-release/host/cocoon-spec/cocoon-spec
	bench/seal.sh build-release/host/seal-server/seal-server build-release/bench/seal-bench
	bench/verity.sh build-release/host/cocoon-verity/cocoon-verity
	bench/dcap.sh build-release/bench/dcap-bench
	bench/launch.sh build-asan 3
	@if [ "$$(id -u)" = 0 ]; then python3 bench/authz.py build-release/guest/cocoon-authz/cocoon-authz; \
	else echo "bench/authz.py skipped: needs root (it starts dockerd)"; fi
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) build && COCOON_BUILD=build python3 bench/boot.py 1; \
	else echo "bench/boot.py skipped: needs root (it boots the development CVM)"; fi

demo: demo-setup
	@scripts/demo.sh

deps-deb:
	scripts/install-deps.sh build deb

# the Debian packages cocoon-host and cocoon-guest in build-deb/, lintian-checked
deb: deps-deb
	scripts/build-deb.sh build-deb

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-fuzz build-release
