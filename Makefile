# The two commands of the README: `make book` and `make test`.
# Both create .venv when it is missing and install the exact pins of requirements.txt.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PARAMS ?= params/paper.yaml

.PHONY: book run build test lab bench pins clean help venv

help:
	@echo "make book   run every notebook with papermill ($(PARAMS)) and build the HTML book"
	@echo "make test   run the test suite"
	@echo "make lab    open JupyterLab on notebooks/ with the project's kernel"
	@echo "make venv   only create .venv with the pins (for the commands of 'Bringing real data')"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

venv: $(STAMP)

book: run build

run: $(STAMP)
	$(BIN)/python -m replication run --params $(PARAMS)

build: $(STAMP)
	$(BIN)/python -m replication build

test: $(STAMP)
	$(BIN)/python -m pytest -q

lab: $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name replication --display-name "Python (replication)"
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

pins: $(STAMP)
	@echo "# Exact pins for the book and the tests (python 3.11). Regenerate with: make pins" > requirements.txt.new
	@echo "# Ranges for the package itself are in pyproject.toml." >> requirements.txt.new
	@$(BIN)/python -m pip freeze --exclude-editable --all | grep -v "^pip==" | grep -v -i '^replication' >> requirements.txt.new
	@mv requirements.txt.new requirements.txt

clean:
	rm -rf book/_build book/chapters _runs
