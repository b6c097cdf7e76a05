# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SENTINEL := $(VENV)/bin/sentinel
HOST ?= 127.0.0.1
PORT ?= 9000

.PHONY: install run test test-fast lint ui bench-ingest clean

install: $(VENV)/.installed

# Two pip steps: in one resolve, the editable root conflicts with the CLI's direct reference to
# the same directory (cli/pyproject.toml); the second step makes the root editable.
$(VENV)/.installed: pyproject.toml cli/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e "./cli[server,discover]"
	$(PY) -m pip install --quiet -e ".[server,test]"
	touch $@

# Builds the dashboard into agentsentinel/static when its sources exist.
ui:
	@if [ -f ui/package.json ]; then \
		cd ui && npm ci --no-audit --no-fund && npm run build; \
	else \
		echo "ui/: no dashboard sources yet; the API runs without the UI"; \
	fi

run: install ui
	$(SENTINEL) serve --host $(HOST) --port $(PORT)

# The whole suite. Postgres + Redis variants run when AGENTSENTINEL_TEST_DATABASE_URL and
# AGENTSENTINEL_TEST_REDIS_URL are set (as .ci/run does).
test: install
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not slow"

lint: install
	$(VENV)/bin/ruff check agentsentinel cli tests bench alembic
	$(VENV)/bin/mypy

bench-ingest: install
	$(PY) -m bench.ingest.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
