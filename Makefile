# The two commands of the README: `make demo` (set up and run everything) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: demo test bench clean system model
# Programs the export tests open the papers with: LibreOffice Calc and Writer (workbooks and the
# .docx record to PDF), poppler (PDF to PNG, its page size and text), and a font with Chinese
# glyphs; Chromium and its driver for the console's browser tests (Selenium). Debian packages,
# installed once (as root, or with sudo).
SYSTEM_PACKAGES := libreoffice-calc libreoffice-writer poppler-utils fonts-noto-cjk chromium \
	chromium-driver

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

## Set up, create the schema, seed the demo branch, run web + worker + scheduler + stand-in platform.
## `make demo PORT=5100`: the web server (and the links the bot sends) on 5100, the stand-in
## platform on PORT+1 (or FAKE_PORT); `flask --app wsgi chat` finds them. Ctrl-C stops it all.
PORT ?= 5000
FAKE_PORT ?= $(shell echo $$(($(PORT) + 1)))
demo: $(VENV)/.installed model
	$(BIN)/flask --app wsgi demo seed
	$(BIN)/flask --app wsgi demo run --port $(PORT) --fake-port $(FAKE_PORT)

## The model the bot reads messages with, trained from prompts/corpus (kept while it is unchanged).
model: $(VENV)/.installed
	$(BIN)/flask --app wsgi intents build

system:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
	  grep -q 'ok installed' || echo $$p; done); [ -z "$$missing" ] || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    --no-install-recommends $$missing; }

## Set up and run the whole test-suite, on SQLite + embedded Redis and on PostgreSQL + Redis.
test: $(VENV)/.installed system model
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

## The benchmarks of bench/ (they print figures; they are not tests).
bench: $(VENV)/.installed
	$(BIN)/python bench/webhook.py

clean:
	rm -rf $(VENV) instance .pytest_cache
