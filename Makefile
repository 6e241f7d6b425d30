# The two commands of the README: `make book` and `make test`.
# Both create .venv when it is missing and install the exact pins of requirements.txt.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PARAMS ?= params/paper.yaml

.PHONY: book run build student test test-fast lab bench pins clean help venv

help:
	@echo "make book   run every notebook with papermill ($(PARAMS)) and build the HTML book"
	@echo "make student  the student edition (no solutions) into book/_build/student/html, after make book"
	@echo "make test   run the test suite (everything, as CI does)"
	@echo "make test-fast  the suite without the tests marked slow (book, browser, real-data book,"
	@echo "            notebook-running runner tests, Monte Carlo, 500 seeds) on both cores,"
	@echo "            about 75 s on 2 cores, for the edit-test loop"
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

# the student edition: the same executed chapters without solutions (run `make book` first)
student: $(STAMP)
	$(BIN)/python -m replication build --student

# test: both cores (pytest-xdist), each test file on one worker (its module fixtures built
# once); the executed book is shared by the workers (tests/conftest.py, a file lock)
test: $(STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -q -n 2 --dist loadfile

# test-fast: both cores, tests handed out one at a time (worksteal: the fast tests' module
# fixtures are cheap to build twice); the tests marked slow are left out
test-fast: $(STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -q -n 2 --dist worksteal -m "not slow"

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
