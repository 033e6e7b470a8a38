# Every target builds .venv itself on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: venv demo test lint clean

$(BIN)/bharnet: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e .[dev,video]
	touch $@

venv: $(BIN)/bharnet

demo: venv
	$(BIN)/bharnet demo

test: venv
	$(BIN)/ruff check bharnet tests
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check bharnet tests

clean:
	rm -rf $(VENV) build *.egg-info
