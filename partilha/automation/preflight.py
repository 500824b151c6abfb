"""Before a stack touches Proxmox VE: the credentials it will use exist and the API answers to
them, so a missing token or a lab that is down is one clear message, not a failed update; and
which of the guests it sees are on a node the cluster reports offline (their resources keep
their state: partilha.proxmox.resources.base), to be said, not waited for.

The check resolves credentials exactly as the stack's providers will (partilha.proxmox.credentials)
from the stack's config and the environment its Pulumi run gets, then makes a few reads.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping

import requests
from proxmoxer.core import ResourceException

from partilha.automation.envs import Env, StackSpec
from partilha.errors import UserError
from partilha.proxmox import credentials
from partilha.proxmox.client import Pve
from partilha.proxmox.credentials import LAB, TOKEN_STORE
from partilha.proxmox.endpoint import ENDPOINT
from partilha.proxmox.retry import Backoff, DeadlineError

CONNECT_TIMEOUT = 5.0
DEADLINE = 30.0  # seconds of retrying transient failures (a lab with faults on) before giving up


def check(env: Env, stack: StackSpec, config: Mapping[str, str], environ: Mapping[str, str]) -> list[str]:
    """`config`: the stack's, as Pulumi gives it; `environ`: the caller's environment. Returns
    one line per offline node holding guests the stack's token sees."""
    if stack.role == "municipality" and not config.get(TOKEN_STORE):
        raise UserError(f"{stack.name}: its stack config has no `{TOKEN_STORE}`; a municipality's "
                        "stack runs with its own scoped token only")
    endpoint = env.endpoint(stack, config, environ)
    down = f"{stack.name}: the Proxmox VE API at {endpoint.url} does not answer"
    if _lab(config, environ):
        down += " (is the lab up? `partilha lab up`)"
    try:  # a refused connection is not worth retrying: say so at once
        socket.create_connection((endpoint.host, endpoint.port), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise UserError(f"{down}: {exc.strerror or exc}") from None
    pve = Pve.connect(endpoint, Backoff(first=0.5, deadline=DEADLINE))
    try:
        pve.get("/version")
        return _offline(pve, stack)
    except (DeadlineError, requests.RequestException) as exc:
        raise UserError(f"{down}: {_first_line(exc)}") from None
    except ResourceException as exc:
        remedy = ""
        if stack.role == "municipality" and exc.status_code == 401:  # the platform stack makes it
            remedy = (f"; if it no longer exists there (a lab made again), `partilha up --env {env.name} "
                      "--only platform` makes it anew")
        raise UserError(f"{stack.name}: the Proxmox VE API at {endpoint.url} refused token "
                        f"{endpoint.token_id}: {exc.status_code} {exc.status_message}{remedy}") from None


def _offline(pve: Pve, stack: StackSpec) -> list[str]:
    nodes = {str(n["node"]) for n in pve.get("/nodes") if n.get("status") == "offline"}
    held: dict[str, list[str]] = {}
    for r in pve.get("/cluster/resources", type="vm") if nodes else []:
        if r.get("node") in nodes:
            kind = "CT" if r["type"] == "lxc" else "VM"
            held.setdefault(str(r["node"]), []).append(f"{kind} {r['vmid']} {r.get('name', '')}".strip())
    return [f"{stack.name}: node {node} is offline; its guests {', '.join(sorted(held[node]))} keep "
            "their state and were left as they are (recover them: `partilha dr run "
            "restore-municipality SLUG` or `restore-guest GUEST`)" for node in sorted(held)]

def _lab(config: Mapping[str, str], env: Mapping[str, str]) -> bool:
    return credentials.is_lab(config.get(LAB, "")) and not env.get(ENDPOINT)


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
