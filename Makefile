# The commands of the README. Each creates .venv when it is missing and installs into it
# exactly what uv.lock pins (hashes checked), nothing newer: a new release of any dependency
# or tool changes nothing here until `make lock` or `make lock-upgrade` moves the lock.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
# The one version of uv, installed into .venv from requirements-uv.txt (pinned, hashed).
# To move it: change it here, then `make lock`.
UV_VERSION := 0.13.9
LOWEST := .venv-lowest
# `make install`: the program in $(PREFIX)/lib/colony-actor, linked from $(PREFIX)/bin; the
# systemd user unit in $(UNIT_DIR).
PREFIX ?= $(HOME)/.local
UNIT_DIR ?= $(or $(XDG_CONFIG_HOME),$(HOME)/.config)/systemd/user
APP := $(PREFIX)/lib/colony-actor

# uv works on the interpreter PYTHON names, never on one it downloads.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Bytecode is compiled at install, the daemon's own modules included (COMPILE): uv leaves
# it to the first import, and where PYTHONDONTWRITEBYTECODE is set every start compiled
# every module again (0.65 s of a 1.2 s start). Both skip what is up to date.
SYNC := $(UV) sync --quiet --locked --python $(BIN)/python --compile-bytecode
COMPILE := $(BIN)/python -m compileall -q colony_actor
# uv exits 1 when the lock no longer matches pyproject.toml, 2 on any other error.
LOCK_CHECK := $(UV) lock --check --quiet --python $(BIN)/python; status=$$?; \
	[ $$status != 1 ] || echo "uv.lock does not match pyproject.toml: run 'make lock'" >&2; \
	[ $$status = 0 ]
CHECK_SOURCES := colony_actor tests bench
# Two test processes: most tests wait on a daemon, a socket or a thread, so two share two
# cores well (about 3 minutes instead of 6). `make test PYTEST_ARGS=...` replaces this,
# `PYTEST_ARGS=-n0` runs them in one process.
PYTEST_ARGS ?= -n 2

.PHONY: serve test lint lock lock-upgrade test-lowest deps-serve deps-test install uninstall \
	clean

# .venv remembers the PYTHON it was made with; another PYTHON makes it anew.
ifneq ($(shell cat $(VENV)/.python 2>/dev/null),$(PYTHON))
.PHONY: $(BIN)/python
endif
$(BIN)/python:
	@$(PYTHON) -c '' >/dev/null 2>&1 || { echo "cannot run $(PYTHON) (set PYTHON=...)" >&2; exit 1; }
	@rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	@echo '$(PYTHON)' > $(VENV)/.python

$(UV): $(BIN)/python requirements-uv.txt
	$(BIN)/python -m pip install -qq --disable-pip-version-check --require-hashes --no-deps \
		-r requirements-uv.txt
	@touch $(UV)

# Serving needs the dependencies alone; --inexact leaves the test tools of an earlier
# `make test` in place. A target that needs another extra syncs the same way with
# `--extra NAME` added.
deps-serve: $(UV)
	@$(LOCK_CHECK)
	@$(SYNC) --inexact
	@$(COMPILE)

# The test extra on top, exactly: a package that the lock does not name is removed, so the
# suite cannot lean on something undeclared.
deps-test: $(UV)
	@$(LOCK_CHECK)
	@$(SYNC) --extra test
	@$(COMPILE)

serve: deps-serve
	$(BIN)/colony-actor serve $(ARGS)

# The checks of `make test`, run with the tools in the folder $(1).
define checks
	$(1)/ruff check $(CHECK_SOURCES)
	$(1)/mypy
	$(1)/lint-imports
	$(1)/python -m pytest $(PYTEST_ARGS)
endef

test: deps-test
	$(call checks,$(BIN))

lint: deps-test
	$(BIN)/ruff check $(CHECK_SOURCES)
	$(BIN)/mypy
	$(BIN)/lint-imports

# Run after any change to the dependencies in pyproject.toml, and commit uv.lock with it: it
# adds and removes what changed and keeps every other pin.
lock: $(UV)
	$(UV) lock --python $(BIN)/python $(LOCK_ARGS)
	echo "uv==$(UV_VERSION)" | $(UV) pip compile --quiet --generate-hashes \
		--custom-compile-command "make lock" --python $(BIN)/python -o requirements-uv.txt -

# Moves every pin to the newest release that pyproject.toml allows.
lock-upgrade:
	$(MAKE) lock LOCK_ARGS=--upgrade

# The checks of `make test` against the lowest version of every direct dependency that
# pyproject.toml allows (with the newest of what those need in turn), in a venv of its own:
# this proves the declared minimums.
test-lowest: $(UV)
	rm -rf $(LOWEST)
	$(UV) venv --quiet --python $(BIN)/python $(LOWEST)
	$(UV) pip compile --quiet --resolution lowest-direct --extra test --no-header \
		--python $(LOWEST)/bin/python -o $(LOWEST)/requirements.txt pyproject.toml
	$(UV) pip sync --quiet --python $(LOWEST)/bin/python $(LOWEST)/requirements.txt
	$(UV) pip install --quiet --no-deps --python $(LOWEST)/bin/python -e .
	@echo "lowest versions: $(LOWEST)/requirements.txt"
	$(call checks,$(LOWEST)/bin)

# The program for everyday use and for the systemd user unit: a copy (not a link to this
# work tree) with the serving dependencies of uv.lock. Run again after pulling to update.
install: $(UV)
	@$(LOCK_CHECK)
	UV_PROJECT_ENVIRONMENT=$(APP) $(UV) sync --quiet --locked --no-editable \
		--python $(BIN)/python --compile-bytecode
	mkdir -p $(PREFIX)/bin $(UNIT_DIR)
	ln -sfn $(APP)/bin/colony-actor $(PREFIX)/bin/colony-actor
	sed 's|%h/.local/bin/colony-actor|$(PREFIX)/bin/colony-actor|' config/colony-actor.service \
		> $(UNIT_DIR)/colony-actor.service
	@echo "installed $(PREFIX)/bin/colony-actor and $(UNIT_DIR)/colony-actor.service"

uninstall:
	rm -rf $(APP) $(PREFIX)/bin/colony-actor $(UNIT_DIR)/colony-actor.service

clean:
	rm -rf $(VENV) $(LOWEST) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
