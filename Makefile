# Every target does its own set-up: a virtual environment in .venv with the pinned requirements.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# `make install`: where the runtime goes (README, "Production install").
PREFIX ?= /opt/escalation-bot
DIST := dist
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
WHEEL := $(DIST)/escalation_bot-$(VERSION)-py3-none-any.whl
PIP_QUIET := --quiet --disable-pip-version-check
CHECK_PYTHON = @$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found " + sys.version.split()[0] + ")")'

.PHONY: run test chat bench lint venv clean teams-package wheel install

$(STAMP): requirements.txt requirements-dev.txt
	$(CHECK_PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_QUIET) -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	BOT_TEAMS_EMULATOR=$${BOT_TEAMS_EMULATOR:-1} $(PY) -m bot serve

chat: $(STAMP)
	$(PY) -m bot chat --user $${BOT_CHAT_USER:-practitioner@example.org}

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy

teams-package:
	$(PYTHON) manifest/teams/package.py

# The runtime as a wheel in dist/, built by pip with pyproject.toml's pinned setuptools (in a throwaway build
# environment: nothing of the test or lint tools). A stale build/lib would carry files since removed: it goes first.
wheel:
	$(CHECK_PYTHON)
	rm -rf build/lib build/bdist.* $(WHEEL)
	$(PYTHON) -m pip wheel $(PIP_QUIET) --no-deps --wheel-dir $(DIST) .

# The runtime only, in a virtual environment at PREFIX: requirements.txt's pins and the wheel (the command
# `escalation-bot`), no test or lint tools. Run again over the same PREFIX to upgrade (README, "Upgrades").
install:
	$(CHECK_PYTHON)
	$(PYTHON) -m venv $(PREFIX)
	$(MAKE) --no-print-directory wheel PYTHON=$(PREFIX)/bin/python
	$(PREFIX)/bin/python -m pip install $(PIP_QUIET) -r requirements.txt
	$(PREFIX)/bin/python -m pip install $(PIP_QUIET) --no-deps --force-reinstall $(WHEEL)
	$(PREFIX)/bin/python -m pip check
	@echo "installed $(PREFIX)/bin/escalation-bot ($(VERSION))"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(DIST) build/lib build/bdist.* *.egg-info
