# Two commands do all the set-up: `make run` serves the app, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
export APP_ENV ?= development

.PHONY: run test test-sqlite test-postgres install install-dev translations lint clean

run: install .flaskenv  ## install, migrate the SQLite database in instance/, serve http://127.0.0.1:5000 (PORT=…)
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port $(PORT)

test: lint test-sqlite test-postgres  ## lint, then the whole suite on SQLite and then on PostgreSQL

test-sqlite: install-dev
	$(BIN)/python -m pytest

# PostgreSQL runs when its server binaries are present; CI (REQUIRE_POSTGRES=1) insists on them.
test-postgres: install-dev
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		.ci/with-postgres $(BIN)/python -m pytest; \
	elif [ -n "$$REQUIRE_POSTGRES" ]; then \
		echo "PostgreSQL is required but not installed (apt-get install postgresql)" >&2; exit 1; \
	else \
		echo "NOTE: PostgreSQL not installed here; the suite ran on SQLite only (.ci/run installs it)."; \
	fi

# The `flask` command reads .flaskenv (python-dotenv): after `make run`, `.venv/bin/flask --app wsgi …`
# works in development as the README shows it. Not committed, so a server never runs in development
# by accident; gunicorn does not read it at all.
.flaskenv:
	printf '# Written by `make run`: the flask command runs in development here.\nAPP_ENV=development\n' > $@

install: $(VENV)/.runtime-installed
install-dev: $(VENV)/.dev-installed

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: requirements.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

# Extract every _()/_l() string, merge it into each language's .po, compile the .mo files the app
# loads. --ignore-dirs: pybabel's default skips every "_" folder, which would miss templates/_macros.
# The .mo files are committed (tests/test_i18n.py fails if one is stale or a string lacks a
# translation), so a deploy needs no build step.
translations: install-dev  ## after changing user-facing strings: then translate the new msgids and run it again
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --ignore-dirs='.* __pycache__' -o messages.pot .
	$(BIN)/pybabel update -i messages.pot -d app/translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d app/translations --statistics

# ruff and mypy with the settings in pyproject.toml; `make test` (and so CI) runs it first. A few seconds.
lint: install-dev  ## style, imports, likely bugs (ruff) and types (mypy on app/)
	@status=0; $(BIN)/ruff check . || status=1; $(BIN)/mypy || status=1; exit $$status

clean:
	rm -rf $(VENV) .pytest_cache
