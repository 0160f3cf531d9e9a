# The two commands of the README:
#   make lab    set up .venv (if needed) and start JupyterLab at the repository root, on
#               lectures/00_welcome.ipynb (the same root as Binder's labpath= links)
#   make test   set up .venv (if needed) and run the whole test suite
# and the tools behind them:
#   make notebooks      re-execute every lecture and solution in place (stored outputs)
#   make psets          regenerate the student problem sets from solutions/
#   make browser-test   open every notebook in JupyterLab in headless Chromium
#   make bench          print the AD speed ratios against peers
#   make site           build the course website into build/site/ (SITE_SOLUTIONS=0: no solutions)
#   make site-check     check every page of build/site/ in headless Chromium

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
LAB_ARGS ?=
SITE_SOLUTIONS ?= 1
SITE_CHECK_ARGS ?=
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: setup lab test notebooks psets browser-test bench site site-check clean

$(STAMP): pyproject.toml tools/constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c tools/constraints.txt -e ".[all]"
	@touch $(STAMP)

setup: $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir="$(CURDIR)" \
		--LabApp.default_url=/lab/tree/lectures/00_welcome.ipynb $(LAB_ARGS)

test: $(STAMP)
	bash tools/run_tests.sh

notebooks: $(STAMP)
	$(PY) tools/notebooks.py

psets: $(STAMP)
	$(PY) tools/make_psets.py

browser-test: $(STAMP)
	$(PY) tools/browser_check.py

site: $(STAMP)
	$(PY) tools/build_site.py $(if $(filter 0,$(SITE_SOLUTIONS)),--no-solutions)

site-check: $(STAMP)
	$(PY) tools/site_check.py $(SITE_CHECK_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/bench_forward.py
	$(PY) benchmarks/bench_reverse.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis browser-screenshots build
