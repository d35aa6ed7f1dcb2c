# Two commands do all set-up on a fresh Debian machine:
#   make run    the app on the embedded default (SQLite demo, in-process cache) at http://127.0.0.1:8050
#   make test   the whole test suite (SQLite, PostgreSQL at 127.0.0.1:5432, headless Chromium)
# and make lint (ruff) checks the code; .ci/run runs both.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := chromium chromium-driver fonts-wqy-microhei redis-server postgresql nodejs
# What the running app itself needs: Chromium draws every PNG/SVG download and the report's charts, and a
# font covering Chinese keeps their text from being drawn as boxes (exports/images.py checks both).
RUN_APT_PACKAGES := chromium fonts-wqy-microhei fontconfig
# apt-get install, non-interactive (env passes DEBIAN_FRONTEND through sudo, which would drop it), after an update.
APT_INSTALL = $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq

.PHONY: run run-deps test system-deps lint

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: $(STAMP) run-deps
	$(PY) app.py

lint: $(STAMP)
	$(PY) -m ruff check .

run-deps:
	@if ! command -v chromium >/dev/null || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
		$(APT_INSTALL) $(RUN_APT_PACKAGES) >/dev/null; \
	fi

system-deps:
	@if ! command -v chromium >/dev/null || ! command -v node >/dev/null || ! fc-list 2>/dev/null | grep -qi "wenquanyi" \
		|| ! command -v redis-server >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		$(APT_INSTALL) $(APT_PACKAGES) >/dev/null; \
	fi

# The suite runs on today's date; its calendar-sensitive modules (those whose figures depend on the day:
# everything that reads a seeded demo or counts periods) run a second time as if it were an awkward instant,
# whatever today is: a Monday just after midnight that is also the first day of a month, so this week,
# this month and the year's first quarter all have no complete day yet (tests/conftest.py, EQIAN_TEST_NOW).
CALENDAR_NOW ?= 2027-03-01T00:05:00+08:00
CALENDAR_TESTS := tests/test_truth.py tests/test_compstat.py tests/test_measures.py tests/test_cockpit.py \
	tests/test_wall.py tests/test_wall_charts.py tests/test_exports.py tests/test_exports_pages.py \
	tests/test_reports.py tests/test_review_callbacks.py tests/test_review_speed_paths.py tests/test_enterprise.py \
	tests/test_index_views.py tests/test_calibration.py

.PHONY: test-calendar

test: $(STAMP) system-deps
	$(PY) -m pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-calendar

test-calendar: $(STAMP)
	EQIAN_TEST_NOW=$(CALENDAR_NOW) $(PY) -m pytest -m "not browser and not faults" $(CALENDAR_TESTS)
