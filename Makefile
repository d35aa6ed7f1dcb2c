# Two commands do all set-up on a fresh Debian machine:
#   make run    the app on the embedded default (SQLite demo, in-process cache) at http://127.0.0.1:8050
#   make test   the whole test suite (SQLite, PostgreSQL at 127.0.0.1:5432, headless Chromium)
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := chromium chromium-driver fonts-wqy-microhei redis-server postgresql nodejs

.PHONY: run test system-deps lint

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: $(STAMP)
	$(PY) app.py

system-deps:
	@if ! command -v chromium >/dev/null || ! command -v node >/dev/null || ! fc-list 2>/dev/null | grep -qi "wenquanyi" \
		|| ! command -v redis-server >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi

test: $(STAMP) system-deps
	$(PY) -m pytest $(PYTEST_ARGS)
