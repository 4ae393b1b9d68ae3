# One entry point per job. Each target sets up what it needs first (a virtualenv in .venv).
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STACK ?= dev

.PHONY: setup test preview schema clean

$(STAMP): requirements.txt requirements-dev.txt requirements-runtime.txt requirements-preview.txt pyproject.toml tests/tools/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	cd tests/tools && npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

setup: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

preview: $(STAMP)
	$(VENV)/bin/fedctl preview --stack $(STACK)

# The multi-language package's API snapshot: regenerate after changing a component's args or outputs.
schema: $(STAMP)
	$(PY) -m components.schema --output schema.json

clean:
	rm -rf $(VENV) build *.egg-info
