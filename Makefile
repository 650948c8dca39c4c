# The two commands of the README: `make run` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint install dev solve-sample

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

dev: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,distributed]'

# The service on the embedded SQLite database (var/rackplan.db under the working directory),
# loaded with the packaged sample factory and orders on first start: open
# http://127.0.0.1:8000/ in a browser.
run: install
	$(BIN)/rackplan serve

# Solve the sample factory and orders from the command line: `rackplan sample` writes the
# packaged sample into out/, the schedule lands beside it.
solve-sample: install
	$(BIN)/rackplan sample -o out --force
	$(BIN)/rackplan solve out/sample.json -o out/sample-schedule.json --time-limit 30
	$(BIN)/rackplan validate out/sample.json out/sample-schedule.json

# ruff, mypy strict, and the import contracts of .importlinter (layers, no cycles)
lint: dev
	$(BIN)/ruff check app solver tests bench data .ci
	$(BIN)/mypy
	$(BIN)/lint-imports

# the tests run in one process per core (pytest-xdist), each test file in one of them
test: lint
	RACKPLAN_TEST_REQUIRE_PG=1 $(BIN)/pytest -n auto --dist loadfile
