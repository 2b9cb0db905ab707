# The README's two commands: `make demo` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SPARK  := $(VENV)/.installed-spark

.PHONY: setup chromium java test test-fast lint demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The cross-engine tests run every report on Spark too: pyspark (the `spark` extra) and Java 17.
$(SPARK): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,spark]'
	touch $(SPARK)

java:
	@command -v java >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; } || \
		{ echo "java is missing: run 'apt-get install openjdk-17-jre-headless' as root" >&2; exit 1; }

# The browser tests drive Debian's chromium through Playwright (never `playwright install`).
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		{ echo "chromium is missing: run 'apt-get install chromium' as root" >&2; exit 1; }

lint: setup
	$(VENV)/bin/ruff check src tests bench

test: setup $(SPARK) chromium java lint
	$(PY) -m pytest -q

test-fast: setup chromium
	$(PY) -m pytest -q -m "not slow" -x

demo: setup
	$(VENV)/bin/flowlake demo --dir demo

bench: setup java
	$(PY) -m pip install --quiet -e '.[dev,bench,spark]'
	$(PY) bench/ingest.py
	$(PY) bench/reports.py
	$(PY) bench/spark.py
	$(PY) bench/dashboard.py
	$(PY) bench/s3.py
	$(PY) bench/forecast.py --write-doc

clean:
	rm -rf $(VENV) build *.egg-info
