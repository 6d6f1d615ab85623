# ketenzicht — entry points. `make run` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := contracts/python libs/common services/intake services/investigation \
            services/prosecution services/residence services/monitor tools/chainsim tools/bench
STAMP := $(VENV)/.installed
PROTOS := $(shell find contracts/proto -name '*.proto')
GENERATED := contracts/python/src/ketenzicht/.generated
# google/rpc/status.proto ships with googleapis-common-protos (a dependency of grpcio-status).
GOOGLE_PROTOS = $(shell $(BIN)/python -c 'import google.rpc, pathlib; print(pathlib.Path(list(google.rpc.__path__)[0]).parents[1])')


.PHONY: run test unit test-feed lint fmt typecheck schemas gen bench bench-scale bench-profile clean \
        setup postgres forget-sweep test-cluster \
        chromium

setup: $(STAMP) $(GENERATED)

$(STAMP): requirements.txt requirements-dev.txt $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps --no-build-isolation $(foreach p,$(PACKAGES),-e $(p))
	touch $@

# Python code for the gRPC contracts is generated, never edited by hand.
$(GENERATED): $(STAMP) $(PROTOS)
	rm -rf contracts/python/src/ketenzicht
	mkdir -p contracts/python/src/ketenzicht
	$(BIN)/python -m grpc_tools.protoc -Icontracts/proto -I$(GOOGLE_PROTOS) \
	  --python_out=contracts/python/src --grpc_python_out=contracts/python/src \
	  --pyi_out=contracts/python/src $(PROTOS)
	touch $@

gen: $(GENERATED)

schemas: setup
	$(BIN)/python -m ketenzicht_contracts.schemas write

# The main job: the whole chain on a realistic scenario (see tools/chainsim/src/chainsim/run.py).
# PROFILE=cluster: the production topology on loopback (three NATS nodes, PostgreSQL, TLS;
# deploy/cluster/topology.toml, everything under var/cluster). SCALE=… the scenario's size.
CLUSTER_ARGS := --profile deploy/cluster/topology.toml --var var/cluster
run: setup $(if $(filter cluster,$(PROFILE)),postgres)
	$(BIN)/python -m chainsim.run $(if $(filter cluster,$(PROFILE)),$(CLUSTER_ARGS)) \
	  $(if $(SCALE),--scale $(SCALE))

# The cluster profile's tests, the slow ones too (faults under load); make test runs the quick ones.
test-cluster: setup postgres
	$(BIN)/python -m pytest -q -m cluster

test: setup postgres chromium lint typecheck
	$(BIN)/python -m pytest -q

# The fast tests: no servers started (nats-server, PostgreSQL, the services), no browser.
unit: setup
	$(BIN)/python -m pytest -q -m "not integration and not postgres and not e2e and not slow"

# The residence feed's full order-independence property (200 victims x 20 interleavings),
# against the one-pass reference evaluation; make test runs a sample of it.
test-feed: setup
	$(BIN)/python -m pytest -q -m slow services/residence/tests/unit/test_feed_follows_the_facts.py

# The store tests also run on a real PostgreSQL: Debian's package, started by the tests on a
# private loopback port. Installed here when missing (CI machines start without it).
postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
	  echo "installing Debian's postgresql package"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Fixes what ruff can fix, then formats; `make lint` checks both.
fmt: setup
	$(BIN)/ruff check --fix-only .
	$(BIN)/ruff format .

typecheck: setup
	$(BIN)/mypy libs/common/src contracts/python/src/ketenzicht_contracts services/*/src tools/*/src


# The monitor's dashboard is tested in a real headless browser: Debian's chromium.
chromium:
	@test -x /usr/bin/chromium || { \
	  echo "installing Debian's chromium package"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# PROFILE=cluster: the same figures on the cluster profile, beside an R3 stream's publish rate
# on three TLS nodes and PostgreSQL's insert rate (tools/bench/src/ketenzicht_bench/cluster.py).
bench: setup $(if $(filter cluster,$(PROFILE)),postgres)
ifeq ($(PROFILE),cluster)
	$(BIN)/python -m ketenzicht_bench --cluster
else
	$(BIN)/python -m ketenzicht_bench
	# The dark number's interval against the truth on all 50 hidden populations (about 2 min).
	$(BIN)/python -m pytest -q -m slow tools/chainsim/tests/test_chainsim_dark_number.py
endif

# The retention sweeps against the running local stack, the police's and the OM's: destroy the
# keys of the registration numbers and parketnummers whose term has passed on AS_OF (default
# today; docs/adr/0020).
forget-sweep: setup
	$(BIN)/python -m investigation.adapters.forget_cli sweep $(if $(AS_OF),--as-of $(AS_OF))
	$(BIN)/python -m prosecution.adapters.forget_cli sweep $(if $(AS_OF),--as-of $(AS_OF))

# The ingest with py-spy on every process: profiles in var/profile, the top costs per event
# printed and written into README.md's "where the time goes" (SCALE=… the scenario's size).
bench-profile: setup
	$(BIN)/python -m ketenzicht_bench --profile var/profile --scale $(or $(SCALE),0.3) --update-readme

# Issue 16's growth row: about EVENTS (default 1M; 10000000 for the 10M run) upstream events of
# make run's scenario written straight to JetStream as each service would publish them, then
# residence replaying its upstream and the monitor's rebuild, timed, every process's memory
# sampled (docs/adr/0033; EVENTS=3000 for a quick look). VIA=grpc feeds the scenario through the
# services' gRPC APIs instead (36 min for 1M). The stack's data lives in a temporary directory
# ($$TMPDIR; about 25 GB at 10M), removed afterwards; the figures go to var/bench-scale/.
bench-scale: setup
	$(BIN)/python -m ketenzicht_bench --scale-run --events $(or $(EVENTS),1000000) \
	  $(if $(filter grpc,$(VIA)),--via-grpc)

clean:
	rm -rf $(VENV) var contracts/python/src/ketenzicht
