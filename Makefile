# StudyBuddy — `make run` runs it on embedded defaults, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
RUFF_ARGS := --isolated --line-length 120 --target-version py311 --select E,F,W,B --ignore B905

.PHONY: run test lint bench mutation clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/studybuddy run

test: $(STAMP)
	$(VENV)/bin/pytest -m "not e2e" $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check $(RUFF_ARGS) studybuddy tests bench
	$(VENV)/bin/mypy --config-file setup.cfg
	$(VENV)/bin/lint-imports --config setup.cfg

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# Mutation testing of ownership, quota, job claims, review marks, CSRF and upload checks
# (tests/mutation/run.py); bounded to 20 minutes, not part of `make test`.
mutation: $(STAMP)
	$(PY) -m tests.mutation.run --budget-minutes 20

clean:
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache

# Debian package and the end-to-end run on a real systemd (packaging/README.md, tests/e2e/).
.PHONY: deb e2e
deb:
	sh packaging/build-deb.sh

e2e: $(STAMP) deb
	STUDYBUDDY_E2E=1 STUDYBUDDY_E2E_DEB="$$(ls -t dist/studybuddy_*_amd64.deb | head -1)" \
		$(VENV)/bin/pytest -m e2e tests/e2e -v -rA $(PYTEST_ARGS)
