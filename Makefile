# Two commands for a fresh machine: `make demo` and `make test`. Both (re)use .venv and
# install only what changed (a stamp file tracks pyproject.toml and every plugin's).
# Bytecode is compiled at install: with PYTHONDONTWRITEBYTECODE set, every process would
# otherwise recompile pandas, Airflow and Great Expectations on import.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PLUGIN_PROJECTS := $(wildcard plugins/hub-*/pyproject.toml)
PLUGIN_DIRS := $(patsubst %/pyproject.toml,%,$(PLUGIN_PROJECTS))

.PHONY: install system-deps test test-fast lint demo bench screenshots clean

install: $(STAMP)

# Debian packages the tests drive for real: a browser for the console, LibreOffice and poppler for
# what is printed, and a CJK font (without one, screenshots and PDFs show boxes). Installed only
# when missing; needs root (CI and the sessions run as root).
SYSTEM_PACKAGES := chromium chromium-driver libreoffice-calc-nogui poppler-utils fonts-wqy-microhei faketime
system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml $(PLUGIN_PROJECTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install -q --disable-pip-version-check uv
	$(BIN)/uv pip install --python $(BIN)/python -q --compile-bytecode -e '.[test]' $(foreach d,$(PLUGIN_DIRS),-e $(d))
	@touch $(STAMP)

lint: install
	$(BIN)/ruff check .

test: install system-deps lint
	$(BIN)/pytest -q

test-fast: install
	$(BIN)/pytest -q -m "not slow" -x

demo: install
	$(BIN)/hub demo

# The console's main pages as PNG (docs/screenshots/, shown in the README): a small synthetic county,
# served over loopback, photographed by the system chromium.
screenshots: install system-deps
	$(BIN)/python tests/console/screenshots.py docs/screenshots

bench: install
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var demo .pytest_cache
