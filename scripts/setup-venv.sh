#!/usr/bin/env bash
# Creates .venv with every package at the version and hash in requirements.lock (made by
# scripts/lock-python.sh), then partilha itself in editable mode; makes it anew only when
# pyproject.toml or the lock changes, so it holds exactly what the lock says.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
stamp=.venv/.partilha-installed
want=$(cat pyproject.toml requirements.lock | sha256sum | cut -c1-16)
# Pulumi's dynamic-provider plugin resolves Pulumi.yaml's `virtualenv: .venv` against the
# program's folder (stacks/), not the project's: point it at the same venv.
ln -sfn ../.venv stacks/.venv
if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "python: .venv up to date"; exit 0
fi
# The lock is the only source: no local wheel folders from the environment.
unset PIP_FIND_LINKS PIP_CONSTRAINT PIP_REQUIREMENT
rm -rf .venv
"$python" -m venv .venv
.venv/bin/python -m pip install -q --require-hashes --no-deps -r requirements.lock
# --no-index: partilha[dev]'s requirements must all be met by what the lock installed, or this
# fails (pyproject.toml changed without running scripts/lock-python.sh).
.venv/bin/python -m pip install -q --no-index --no-build-isolation -e '.[dev]'
.venv/bin/python -m pip check
echo "$want" > "$stamp"
echo "python: .venv installed from requirements.lock"
