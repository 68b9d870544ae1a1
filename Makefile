# Smart CloudOps AI — the README's two set-up commands are `make demo` and `make test`.
# Each creates what it needs on a fresh machine: a virtualenv with the project and its dev extras,
# and (for the tests, as root on Debian) promtool / prometheus from Debian's packages.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
RUN_STAMP := $(VENV)/.runtime-stamp
ARGS   ?=

.PHONY: demo test lint audit system-deps bench eval clean readme-transcript container-smoke docs-charts

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	@$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
	@$(BIN)/python -c "import bot, handlers, prompts, cloudops_demo, slack_bolt, moto, pytest, xdist"
	@touch $@

# The demo needs only the runtime dependencies, the demo extra (moto, the Slack emulator's aiohttp) and the
# charts extra (a third of the dev set), so a fresh clone reaches the prompt sooner; `make test` adds the
# dev extras to the same virtualenv.
$(RUN_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	@$(BIN)/pip install -q --disable-pip-version-check -e '.[demo,charts]' 2>&1 | grep -v '^WARNING: Location' || true
	@$(BIN)/python -c "import bot, handlers, prompts, cloudops_demo, slack_bolt, moto"
	@touch $@

demo: $(RUN_STAMP)  ## run the whole bot locally: moto AWS, local Slack, sidecar (no accounts needed)
	@$(BIN)/cloudops-bot demo $(ARGS)

system-deps:  ## promtool + prometheus, redis-server for the tests (Debian packages, needs root)
	@if ! command -v promtool >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's prometheus package (promtool + server) for the tests"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
	  else echo "note: promtool not found and cannot install it; those tests will be skipped"; fi; \
	fi
	@if ! command -v redis-server >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's redis-server for the shared-store tests"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null; \
	  else echo "note: redis-server not found and cannot install it; those tests will be skipped"; fi; \
	fi

lint: $(STAMP)  ## ruff, mypy, the import-layer contracts and bandit
	$(BIN)/ruff check bot handlers prompts cloudops_demo tests bench scripts
	$(BIN)/mypy bot handlers prompts cloudops_demo
	$(BIN)/lint-imports
	$(BIN)/bandit -q -c pyproject.toml -r bot handlers prompts 2>/dev/null

container-smoke: $(STAMP)  ## build the Dockerfile with buildah (cached debootstrap base), run it against local peers; root; ~4.5 min cold, ~20 s warm
	scripts/container-smoke.sh

audit: $(STAMP)  ## pip-audit of the installed dependencies; fails without vulnerability data (CI has it)
	$(BIN)/pip freeze --exclude-editable > $(VENV)/audit-requirements.txt
	PIP_AUDIT=$(BIN)/pip-audit scripts/audit.sh $(VENV)/audit-requirements.txt

# Test processes (pytest-xdist): most tests wait on sockets, subprocesses and timers rather than on the CPU,
# so more processes than cores pays; each runs its own moto (tests/conftest.py). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 4

test: $(STAMP) system-deps lint  ## lint, then the whole offline test suite
	$(BIN)/pytest -n $(TEST_WORKERS)

bench: $(STAMP)  ## every benchmark (reads ../shared/data where noted); figures go in bench/README.md
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

eval: $(STAMP)  ## the scenario suite against your OpenAI-compatible endpoint (OPENAI_BASE_URL, OPENAI_API_KEY, CLOUDOPS_EVAL_MODELS or CLOUDOPS_LLM_MODEL): a score table per model
	@$(BIN)/python -m tests.scenarios.eval

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache

readme-transcript: $(STAMP)  ## regenerate the README's demo transcript from cloudops_demo/readme-script.txt
	@$(BIN)/python scripts/readme_transcript.py

docs-charts: $(STAMP)  ## regenerate docs/images/*-chart.png from the real handlers and bot.charts
	@$(BIN)/python scripts/render_doc_charts.py
