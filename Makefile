# The two commands a new user needs: `make demo` and `make test`. Both set the machine up first.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint unit clean

setup:  ## Debian packages, .venv with partilha[dev], the pinned Pulumi CLI in .tools/bin
	@scripts/setup-debian.sh
	@scripts/setup-venv.sh
	@scripts/setup-pulumi.sh
	@$(BIN)/partilha env > /dev/null

demo: setup  ## the main job against the lab: provisioned, hardened and configured, proved, then a DR drill
	$(BIN)/partilha inventory validate inventories/lab
	$(BIN)/partilha lab up
	$(BIN)/partilha up --env lab
	$(BIN)/partilha deploy all --env lab
	$(BIN)/partilha verify all --env lab
	$(BIN)/partilha backup now abrantes-intranet --env lab
	$(BIN)/partilha dr run restore-guest abrantes-intranet --beside --yes --env lab
	$(BIN)/partilha dr run verify-backups --guest abrantes-intranet --yes --env lab

lint: setup
	$(BIN)/ruff check partilha stacks tests bench deploys policies molecule
	$(BIN)/mypy
	$(BIN)/mypy policies/rules

unit: setup  ## the unit and policy tests, then the lab's, on two workers; then the few lab tests that run alone
	$(BIN)/pytest -n 2 tests/unit tests/policy
	$(BIN)/pytest -n 2 --dist loadfile -m "not alone" tests/lab
	$(BIN)/pytest -m alone tests/lab

test: lint unit  ## lint, type checks and the whole test suite

clean:  ## remove what setup made in the checkout (caches outside it stay)
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache
