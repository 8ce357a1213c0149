# Denpasar Check-in: the two commands a newcomer needs (`make run`, `make test`) and a few helpers.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The embedded mode is a developer's laptop: DEBUG on unless the caller says otherwise.
export DEBUG ?= true

.PHONY: run serve test bench lint messages check-deploy clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed-run $@

# What phones reach: the host and port served, unless SITE_URL says otherwise. Listening on every interface
# (HOST=0.0.0.0), posters and the kiosk QR carry this machine's first address instead, which a phone on the same
# network can open.
SITE_HOST = $(if $(filter 0.0.0.0 ::,$(HOST)),$(or $(firstword $(shell hostname -I 2>/dev/null)),127.0.0.1),$(HOST))

## run: install, migrate, load demo data on an empty database, serve on http://$(HOST):$(PORT)
run: export SITE_URL ?= http://$(SITE_HOST):$(PORT)
run: $(VENV)/.installed-run
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --if-empty
	@echo ""
	@echo "Denpasar Check-in is serving on $(SITE_URL)/  (admin: $(SITE_URL)/admin/)"
	$(PY) manage.py runserver $(HOST):$(PORT)

## serve: the production topology on http://127.0.0.1:$(PORT) with the current environment (DATABASE_URL, REDIS_URL,
## SECRET_KEY...): migrations, then nginx in front of gunicorn (WSGI) and uvicorn (the door's event streams), the
## Celery worker and beat: the processes of docker-compose.yml (serving/topology.py). Needs nginx. Ctrl-C stops all.
serve: export SITE_URL ?= http://127.0.0.1:$(PORT)
serve: $(VENV)/.installed-run
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) -m serving --port $(PORT)

## test: install dev dependencies and run the whole suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
test: $(VENV)/.installed-dev
	$(PY) -m pytest $(PYTEST_ARGS)

## bench: the load benchmark; writes bench/results/latest.json
bench: $(VENV)/.installed-dev
	$(PY) -m bench $(BENCH_ARGS)

## lint: ruff (rules and formatting) and the import layering (door | reports -> visitors -> screening -> offices)
lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache --no-logo

## messages: collect new/changed strings into locale/id/LC_MESSAGES/django.po, then compile django.mo
## (needs Debian's gettext). New strings get an empty msgstr: translate them, then run `make messages` again.
## msgmerge's fuzzy guesses are emptied too: they are never shown and are often wrong ("Entrance code" ~ "Entrance closed").
## Strings no longer in the code are dropped (--no-obsolete), so the .po lists exactly what the screens use.
MESSAGES_PO := locale/id/LC_MESSAGES/django.po
messages: $(VENV)/.installed-run
	$(PY) manage.py makemessages -l id --ignore=.venv --ignore=bench --ignore=tests --no-location --no-obsolete
	msgattrib --clear-fuzzy --empty --clear-previous --no-location -o $(MESSAGES_PO) $(MESSAGES_PO)
	$(PY) manage.py compilemessages -l id --ignore=.venv
	@msgfmt --statistics -o /dev/null $(MESSAGES_PO)

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm staticfiles
