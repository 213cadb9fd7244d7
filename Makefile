# The two commands a newcomer types: `make run` and `make test`.
#
#   make run    .venv       the product with every reader: opens the wizard on the bundled
#                           example (headless conversion when there is no display)
#   make test   .venv-test  the product, the test tools and openretina 1.1.1 (the reference
#                           client the interop tests and benchmarks compare against; never
#                           installed where the product runs); builds the docs too
#   make bundle .venv-ship  the stand-alone app dist/openretina-data/ (PyInstaller), its
#                           .tar.gz and desktop entry; prints its size
#   make smoke              the frozen CLI and wizard run with the venvs out of reach
#   make docs   .venv-test  the documentation site in site/ (mkdocs --strict)
PYTHON ?= python3.11

VENV := .venv
TEST_VENV := .venv-test
SHIP_VENV := .venv-ship
APP := dist/openretina-data
TARBALL := dist/openretina-data-linux-x86_64.tar.gz

.PHONY: run test docs bundle smoke clean

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
	$(call make_venv,$(TEST_VENV),all$(comma)test$(comma)docs)
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
	$(MAKE) --no-print-directory docs

# The documentation site: API reference from the docstrings (mkdocstrings), the
# recipe reference from the JSON Schema and the troubleshooting page from errors.py
# (docs/hooks.py); --strict turns a broken link or reference into a failure.
docs: $(TEST_VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(TEST_VENV)/bin/mkdocs build --strict --site-dir site
	@echo "docs: site/index.html"

$(SHIP_VENV)/.installed: pyproject.toml constraints.txt
	$(call make_venv,$(SHIP_VENV),all$(comma)ship)
	@touch $@

# The stand-alone app: two executables (openretina-data, openretina-data-wizard) that
# need no Python; the .tar.gz of the folder; a desktop entry and its icon.
bundle: $(SHIP_VENV)/.installed
	@start=$$(date +%s); \
	$(SHIP_VENV)/bin/pyinstaller --noconfirm --log-level WARN --distpath dist \
		--workpath build/pyinstaller packaging/openretina-data.spec && \
	cp packaging/openretina-data-wizard.desktop packaging/install-desktop-entry.sh $(APP)/ && \
	cp app/resources/icon.svg $(APP)/openretina-data.svg && \
	tar -C dist -cf - openretina-data | gzip -1 > $(TARBALL) && \
	$(SHIP_VENV)/bin/python packaging/size_report.py $(APP) $(TARBALL) $$(( $$(date +%s) - start ))

smoke:
	@test -x $(APP)/openretina-data || { echo "no bundle: run make bundle first"; exit 1; }
	bash packaging/smoke.sh $(APP)

clean:
	rm -rf $(VENV) $(TEST_VENV) $(SHIP_VENV) build dist site *.egg-info .pytest_cache .mypy_cache .ruff_cache
