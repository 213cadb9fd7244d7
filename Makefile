# The two commands a newcomer types: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: run test lint types contracts unit clean

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e ".[all,test]"
	@touch $@

# openretina 1.1.1, the reference client, for interop tests and benchmarks only.
$(VENV)/.reference: $(VENV)/.installed requirements-reference.txt
	$(PIP) install --quiet -c constraints.txt -r requirements-reference.txt
	$(PIP) install --quiet --no-deps openretina==1.1.1
	@touch $@

run: $(VENV)/.installed
	$(PY) -m app.main --example

test: $(VENV)/.installed $(VENV)/.reference
	$(VENV)/bin/ruff check openretina_data app tests benchmarks
	$(VENV)/bin/ruff format --check openretina_data app tests benchmarks
	$(VENV)/bin/mypy openretina_data app
	$(VENV)/bin/lint-imports
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
