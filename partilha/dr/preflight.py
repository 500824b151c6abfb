"""`partilha dr preflight`: what the runbooks need when the primary site is gone, checked from
where on-call staff will run them: the state backend (and the dr journals beside it), the secrets
passphrase, the administrator's and each municipality's API token answering, the known_hosts the
hosts' keys are pinned in, the operator's SSH key, and the runbooks themselves."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from partilha.automation import preflight
from partilha.automation.envs import Env, StackSpec
from partilha.dr import runbook
from partilha.dr.journal import dr_root
from partilha.errors import UserError


@dataclass(frozen=True)
class Check:
    what: str
    ok: bool
    detail: str


def _try(what: str, probe: Callable[[], str]) -> Check:
    try:
        return Check(what, True, probe())
    except (UserError, OSError) as exc:
        return Check(what, False, str(exc).splitlines()[0])


def _backend(env: Env) -> str:
    root = dr_root(env.workspace)
    probe = root / f".preflight-{os.getpid()}"
    probe.write_text("ok")
    probe.unlink()
    return f"{root.parent} (journals and locks in {root.name}/) writable"


def _passphrase(env: Env) -> str:
    if os.environ.get("PULUMI_CONFIG_PASSPHRASE"):
        return "PULUMI_CONFIG_PASSPHRASE is set"
    given = os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    path = Path(given) if given else env.workspace.root / ".partilha" / "passphrase"
    if not path.is_file() or not path.read_text().strip():
        raise UserError(f"no secrets passphrase: {path} is missing or empty")
    return f"{path} readable"


def _token(env: Env, stack: StackSpec) -> str:
    config = {**env.config(stack), **(env.plain_config(stack) or {})}
    preflight.check(env, stack, config, os.environ)
    return f"{env.endpoint(stack, config, os.environ).token_id} answers"


def _token_check(env: Env, stack: StackSpec) -> Check:
    return _try(f"API token of {stack.name}", lambda: _token(env, stack))


def _known_hosts(env: Env) -> str:
    path = env.known_hosts(os.environ)
    lines = [line for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []
    if not lines:
        raise UserError(f"{path}: no host key pinned (restored guests could not be trusted)")
    return f"{path}: {len(lines)} keys pinned"


def _ssh_key(env: Env) -> str:
    return f"{env.workspace.ssh_key(env.lab)} present"


def _runbooks(folder: Path | None) -> str:
    names = runbook.names(folder)
    for name in names:
        runbook.load(name, folder)
    return f"{len(names)} load: {', '.join(names)}"


def checks(env: Env, runbooks: Path | None = None) -> list[Check]:
    found = [_try("state backend", lambda: _backend(env)),
             _try("secrets passphrase", lambda: _passphrase(env))]
    for stack in (StackSpec(env.name, "platform"),
                  *(s for s in env.stacks if s.role == "municipality")):
        found.append(_token_check(env, stack))
    found += [_try("known_hosts", lambda: _known_hosts(env)),
              _try("operator SSH key", lambda: _ssh_key(env)),
              _try("runbooks", lambda: _runbooks(runbooks))]
    return found
