# Two commands do all setup on a fresh machine:
#   make app    install (first time) and open dlstudio on the offline digits demo
#   make test   install (first time) and run the whole test suite headless
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: app test bench lint

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

app: $(STAMP)
	scripts/system-deps.sh --gui
	$(VENV)/bin/dlstudio

test: $(STAMP)
	scripts/system-deps.sh
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/python -m pytest -q

bench: $(STAMP)
	scripts/system-deps.sh
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/python bench/run_all.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
