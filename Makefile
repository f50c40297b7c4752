# evidencekit: `make demo` then `make test`. Everything else hangs off these.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Debian tools used to build training images, cross-check against The Sleuth Kit, and benchmark peers.
SYS_PKGS := sleuthkit hashdeep yara ewf-tools dosfstools mtools e2fsprogs ntfs-3g fdisk gdisk qemu-utils faketime cryptsetup-bin time exfatprogs exfat-fuse poppler-utils libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-dejavu-core
DEMO_OUT := demo-output
# Test processes: the cores, at most 4 (tests start worker processes of their own). TEST_JOBS=0 runs in one.
TEST_JOBS ?= $(shell n=$$(nproc); [ $$n -gt 4 ] && n=4; echo $$n)

.PHONY: help venv sysdeps demo test lint bench docs clean

help:
	@echo "make demo    create .venv, install, run the main job on shipped sample evidence"
	@echo "make test    run the test suite (installs what it needs)"
	@echo "make lint    ruff + mypy on src/"
	@echo "make bench   benchmarks against The Sleuth Kit and hashdeep (prints ratios)"
	@echo "make docs    regenerate docs/cli.md from --help"

$(BIN)/evidencekit: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

venv: $(BIN)/evidencekit

# Installs missing Debian packages when run as root; otherwise says which are missing (tests skip
# the cross-checks that need them and say so).
sysdeps:
	@missing=""; for p in $(SYS_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "note: Debian packages missing (run 'make sysdeps' as root):$$missing"; fi; \
	fi

demo: venv
	@rm -rf $(DEMO_OUT)
	$(BIN)/python -m evidencekit.demo $(DEMO_OUT)

test: venv sysdeps
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=25 $(if $(filter 0 1,$(TEST_JOBS)),,-n $(TEST_JOBS) --dist loadfile)

lint: venv
	$(BIN)/ruff check src tests
	$(BIN)/mypy src

bench: venv sysdeps
	$(BIN)/python -m bench

docs: venv
	$(BIN)/python -m evidencekit.cli.reference > docs/cli.md

clean:
	rm -rf $(VENV) $(DEMO_OUT) bench-output .pytest_cache .mypy_cache .ruff_cache
