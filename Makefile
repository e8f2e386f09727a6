# Every target does its own set-up: a virtual environment in .venv with the pinned requirements.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test chat bench lint venv clean teams-package

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found " + sys.version.split()[0] + ")")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
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

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
