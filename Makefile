# The two commands a newcomer types: `make run` and `make test`.
#
#   make run   .venv       the product with every reader: opens the wizard on the bundled
#                          example (headless conversion when there is no display)
#   make test  .venv-test  the product, the test tools and openretina 1.1.1 (the reference
#                          client the interop tests and benchmarks compare against; never
#                          installed where the product runs)
PYTHON ?= python3.11

VENV := .venv
TEST_VENV := .venv-test

.PHONY: run test clean

# A venv with the package (editable) and the given extras; pip honours constraints.txt
# (the CPU build of torch, a PySide6 that exits cleanly on Python 3.11).
define make_venv
	@test -x $(1)/bin/python || $(PYTHON) -m venv $(1) || python3 -m venv $(1)
	$(1)/bin/python -m pip install --quiet --upgrade pip
	$(1)/bin/python -m pip install --quiet -c constraints.txt -e ".[$(2)]"
endef

$(VENV)/.installed: pyproject.toml constraints.txt
	$(call make_venv,$(VENV),all)
	@touch $@

$(TEST_VENV)/.installed: pyproject.toml constraints.txt requirements-reference.txt
	$(call make_venv,$(TEST_VENV),all$(comma)test)
	$(TEST_VENV)/bin/python -m pip install --quiet -c constraints.txt -r requirements-reference.txt
	$(TEST_VENV)/bin/python -m pip install --quiet --no-deps openretina==1.1.1
	@touch $@

comma := ,

run: $(VENV)/.installed
	$(VENV)/bin/python -m app.main --example

test: $(TEST_VENV)/.installed
	$(TEST_VENV)/bin/ruff check openretina_data app tests benchmarks
	$(TEST_VENV)/bin/ruff format --check openretina_data app tests benchmarks
	$(TEST_VENV)/bin/mypy openretina_data app
	$(TEST_VENV)/bin/lint-imports
	QT_QPA_PLATFORM=offscreen $(TEST_VENV)/bin/python -m pytest

clean:
	rm -rf $(VENV) $(TEST_VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
