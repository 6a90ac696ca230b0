# glasstls developer entry points. `make demo` and `make test` are the two that matter;
# both create the virtualenv first. Everything here must work as root with no TTY (CI).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed.stamp

export DEBIAN_FRONTEND := noninteractive

# External peers the tests start. Adding one is one line.
# Debian packages, as "command:package" (installed when the command is missing):
APT_PEERS := openssl:openssl
APT_PEERS += curl:curl
APT_PEERS += gnutls-cli:gnutls-bin
APT_PEERS += tshark:tshark
APT_PEERS += chromium:chromium
APT_PEERS += nginx:nginx  # /usr/sbin/nginx: on root's PATH; the tests start their own, never the system one
APT_PEERS += npm:npm  # installs the Node.js 24 peer below
APT_PEERS += redis-server:redis-server  # the fleet's shared store; the tests start their own on a free port
# npm packages, as "path-under-.peers:package" (installed into .peers/ when the path is missing).
# Debian's nodejs is older than 24; the npm package `node` brings the release binary itself.
NPM_PEERS += node_modules/.bin/node:node@24
# Python tools that pin their own dependencies, each in a virtualenv of its own under .peers/,
# as "name:requirement" (the venv .peers/NAME provides bin/NAME). sslyze pins an older
# cryptography than glasstls needs.
PIP_PEERS += sslyze:sslyze==6.3.1

.PHONY: all venv peers test lint typecheck demo bench bench-compat clean

all: test

venv: $(STAMP)

# Re-install only when the project metadata changes; the stamp makes `make venv` idempotent.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "glasstls needs Python >= 3.11, found " + sys.version.split()[0])'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# Install whatever peer is missing; run apt-get update only when something must be installed.
peers:
	@missing=""; \
	for pair in $(APT_PEERS); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing peers:$$missing"; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo -n"; \
	  $$sudo apt-get update -qq && \
	  $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@for pair in $(NPM_PEERS); do \
	  [ -e .peers/$${pair%%:*} ] && continue; \
	  echo "installing peer $${pair#*:} into .peers/"; \
	  npm install --silent --no-audit --no-fund --prefix .peers $${pair#*:} || exit 1; \
	done
	@for pair in $(PIP_PEERS); do \
	  name=$${pair%%:*}; [ -x .peers/$$name/bin/$$name ] && continue; \
	  echo "installing peer $${pair#*:} into .peers/$$name"; \
	  $(PYTHON) -m venv .peers/$$name && .peers/$$name/bin/pip install --quiet $${pair#*:} || exit 1; \
	done

lint: venv
	$(VENV)/bin/ruff check $(wildcard src tests bench)

# The type checker, strict on the modules listed under [tool.mypy] in pyproject.toml.
typecheck: venv
	$(VENV)/bin/mypy

# Test files run in parallel, one worker per core (pytest-xdist); a file's tests stay on one worker,
# so module fixtures (a PKI, a peer) are made once. Every test binds its own ephemeral ports.
test: venv peers lint typecheck bytecode
	$(PY) -m pytest -q -n auto --dist loadfile

demo: venv bytecode
	$(VENV)/bin/glasstls demo

# The editable install's modules compiled ahead: where PYTHONDONTWRITEBYTECODE is set (as on CI),
# every `glasstls` process (hundreds in the tests) would otherwise compile all of them as it starts.
# Only what changed is compiled again; Python checks each .pyc against its source when importing.
.PHONY: bytecode
bytecode: venv
	$(PY) -m compileall -q src

# The table, and every number (ratios, spreads, the crypto floor, memory) in out/bench.json (issue 15);
# then each side's first flight alone (bench/sides.py), in out/sides.json, the phases of a TLS 1.3
# resumption one after another (bench/phases.py), in out/phases.json, and bulk data over a real TCP
# connection through each API (bench/sockets.py), in out/sockets.json.
bench: venv
	mkdir -p out
	$(PY) bench/bench.py --json out/bench.json
	$(PY) bench/sides.py --json out/sides.json
	$(PY) bench/phases.py --json out/phases.json
	$(PY) bench/sockets.py --json out/sockets.json

# requests/s of urllib3 and requests over ssl.SSLContext and glasstls.SSLContext against one local nginx (the stdlib's
# http.server without it); requests and urllib3 come with the test extras.
bench-compat: venv
	$(PY) bench/compat_http.py

.PHONY: load
load: venv
	$(PY) bench/load.py

clean:
	rm -rf $(VENV) .peers build out .pytest_cache .ruff_cache .mypy_cache src/*.egg-info
