# The few commands a newcomer needs. `make run` starts the hub; `make test` runs every test.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTHON ?= python3
PORT   ?= 8000
export PORT

.PHONY: install run test bench lint format messages clean

install: $(VENV)/.installed node_modules/.installed var/staticfiles/.collected

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

# Static files (our CSS and DKFDS from npm) collected for whitenoise.
var/staticfiles/.collected: node_modules/.installed $(VENV)/.installed $(shell find static -type f)
	$(PY) manage.py collectstatic --noinput --verbosity 0
	touch $@

run: install
	$(PY) manage.py run_hub --port $(PORT)

test: install
	$(PY) manage.py makemigrations --check --dry-run --settings=digitalpost.settings.test
	$(PY) -m pytest -n $${PYTEST_WORKERS:-2} $(PYTEST_ARGS)

bench: install
	$(PY) bench/run.py

# The Danish catalogue: collect new strings, then translate them in locale/da/LC_MESSAGES/django.po
# and run this again to compile (tests fail while a string is untranslated or not compiled).
messages: install
	$(PY) manage.py makemessages -l da --no-obsolete --ignore=.venv --ignore=node_modules --ignore=var --ignore=bench --ignore=tests
	$(PY) manage.py compilemessages -l da --ignore=.venv --ignore=node_modules

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff format .

clean:
	rm -rf var/ $(VENV) node_modules
