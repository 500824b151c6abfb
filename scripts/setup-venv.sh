#!/usr/bin/env bash
# Creates .venv and installs partilha in editable mode with the dev extra; reinstalls only
# when pyproject.toml changes.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
stamp=.venv/.partilha-installed
want=$(sha256sum pyproject.toml | cut -c1-16)
# Pulumi's dynamic-provider plugin resolves Pulumi.yaml's `virtualenv: .venv` against the
# program's folder (stacks/), not the project's: point it at the same venv.
ln -sfn ../.venv stacks/.venv
if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "python: .venv up to date"; exit 0
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
echo "$want" > "$stamp"
echo "python: .venv installed"
