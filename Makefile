# Two commands matter: `make demo` (set up, run the whole pipeline locally) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The bundled sample is dated around this day, so every alert tier shows up whatever today is.
DEMO_AS_OF := 2026-12-01
DEMO_OUT := out/demo
DEMO_INPUTS := --input sample_data/facilities_2026-11-30.ndjson --input sample_data/facilities_2026-12-01_updates.ndjson.gz

.PHONY: demo test lint bench java clean

java:
	@command -v java >/dev/null 2>&1 || { echo "Java 17 is required by PySpark and was not found. Install it: sudo apt-get install -y openjdk-17-jre-headless (Debian/Ubuntu), brew install openjdk@17 (macOS)." >&2; exit 1; }
	@java -version 2>&1 | head -1 | grep -q '"17\.' || { echo "PySpark 3.5 (as on AWS Glue 5.1) needs Java 17; found: $$(java -version 2>&1 | head -1). Install openjdk-17 and point JAVA_HOME at it." >&2; exit 1; }

$(VENV)/.runtime-installed: requirements.txt requirements-pipeline.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-pipeline.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.runtime-installed requirements-dev.txt package.json
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	npm ci --silent --no-audit --no-fund
	touch $@

demo: java $(VENV)/.runtime-installed
	rm -rf $(DEMO_OUT)
	$(PY) -m pipeline run $(DEMO_INPUTS) --as-of $(DEMO_AS_OF) --out $(DEMO_OUT)

lint: $(VENV)/.dev-installed
	$(PY) -m ruff check .

# pytest exits 5 when it collects nothing; that is a broken suite here, so it fails loudly.
test: java lint
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite is broken" >&2; exit 1; fi; \
	exit $$rc

bench: java $(VENV)/.dev-installed
	$(PY) -m bench

clean:
	rm -rf out bench/out .pytest_cache .ruff_cache
