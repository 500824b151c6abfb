"""(c) Access, by real API calls: each municipality's own token (from the token store, as its
stack uses it) against every municipality's pool, guests, VNet and guest storage. Against its
own they are allowed; against any other's, refused: a pool or guest read answers 403, the
token holds no privilege on the other's VNet (`GET /access/permissions`), and the storage's
content listing shows none of the other's volumes. One row per (token, tenant, object)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import requests
from proxmoxer.core import ResourceException

from partilha.audit.model import Evidence, Item, Status
from partilha.automation.envs import Env, StackSpec
from partilha.deploy import stack_outputs
from partilha.errors import UserError
from partilha.inventory import PlacedGuest, guests
from partilha.policy.rule import Control
from partilha.proxmox.client import NodeOfflineError, Pve
from partilha.proxmox.retry import Backoff, DeadlineError

WORKERS = 8  # tokens probed at once
DEADLINE = 20.0  # seconds of retrying a transient failure of one call


@dataclass(frozen=True)
class Call:
    """One call of one token: what it is about, the call, and whether it is allowed."""

    owner: str  # the municipality whose object it is
    what: str  # "pool abrantes", "guest abrantes-dms", ...
    path: str
    params: tuple[tuple[str, str], ...]
    allowed: Callable[[Any], bool]  # given the answer, whether it grants access (a 403: refused)
    answering_grants_owner: bool = False  # the owner's own token: an answer is the grant

    @property
    def source(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.params)
        return f"GET {self.path}" + (f"?{query}" if query else "")


def _answered(_: Any) -> bool:
    return True


def _privileged(path: str, answer: Any) -> bool:
    """`GET /access/permissions?path=P` answers {P: {privilege: propagate}}: any privilege there."""
    return bool((answer or {}).get(path))


def _lists_volumes(vmids: set[int], answer: Any) -> bool:
    return any(int(v.get("vmid") or 0) in vmids for v in answer)


def _calls(env: Env, placed: list[PlacedGuest], nodes: dict[str, str]) -> list[Call]:
    def node(g: PlacedGuest) -> str:
        return nodes.get(g.name, g.node)

    made: list[Call] = []
    storage_of = {s.name: s.guest_storage for s in env.inventory.datacentre.sites}
    for m in env.inventory.municipalities:
        theirs = [g for g in placed if g.tenant == m.slug]
        vmids = {g.vmid for g in theirs}
        made.append(Call(m.slug, f"pool {m.slug}", f"/pools/{m.slug}", (), _answered))
        made += [Call(m.slug, f"guest {g.name}", f"/nodes/{node(g)}/{g.spec.kind}/{g.vmid}/config", (),
                      _answered) for g in theirs]
        for vnet in sorted({(g.vnet.zone, g.vnet.id) for g in theirs if g.vnet}):
            path = f"/sdn/zones/{vnet[0]}/{vnet[1]}"
            made.append(Call(m.slug, f"VNet {vnet[1]}", "/access/permissions", (("path", path),),
                             partial(_privileged, path)))
        for sid, g in {storage_of[g.site]: g for g in theirs}.items():
            made.append(Call(m.slug, f"storage {sid} (its volumes)",
                             f"/nodes/{node(g)}/storage/{sid}/content", (), partial(_lists_volumes, vmids),
                             answering_grants_owner=True))
    return made


def _try(pve: Pve, call: Call, own: bool) -> tuple[Status, str]:
    """(status, what was seen) for one call by a token of `own`'s municipality or another's."""
    try:
        answer = pve.get(call.path, **dict(call.params))
    except ResourceException as exc:
        if exc.status_code != 403:
            return "not proven", f"{exc.status_code} {exc.status_message}"
        granted, seen = False, f"refused: 403 {exc.status_message}"
    except (requests.RequestException, DeadlineError, NodeOfflineError) as exc:
        return "not proven", f"no answer: {str(exc).splitlines()[0]}"
    else:
        granted = call.allowed(answer) or (own and call.answering_grants_owner)
        seen = "allowed" if granted else "answered, granting nothing of it"
    return ("passed" if granted == own else "failed"), seen


def _matrix_of(env: Env, slug: str, calls: list[Call]) -> list[Evidence]:
    spec = StackSpec(env.name, "municipality", slug)
    try:
        config = {**env.config(spec), **(env.plain_config(spec) or {})}
        endpoint = env.endpoint(spec, config, os.environ)
    except UserError as exc:
        return [Evidence(f"{slug} -> {c.owner}: {c.what}", "not proven", str(exc), c.source, time.time())
                for c in calls]
    pve = Pve.connect(endpoint, Backoff(first=0.2, deadline=DEADLINE))
    rows = []
    for c in calls:
        status, seen = _try(pve, c, own=c.owner == slug)
        expected = "allowed" if c.owner == slug else "refused"
        rows.append(Evidence(f"{slug} -> {c.owner}: {c.what}", status, f"{seen} (expected {expected})",
                             f"{c.source} as {endpoint.token_id}", time.time()))
    return rows


def item(env: Env, controls: tuple[Control, ...]) -> Item:
    placed = guests(env.inventory)
    try:
        made = stack_outputs.guest_outputs(env)
        nodes = {name: str(g.get("node")) for name, g in made.items() if g.get("node")}
    except UserError:
        nodes = {}  # the inventory's nodes: a guest elsewhere answers other than 403, "not proven"
    calls = _calls(env, placed, nodes)
    slugs = [m.slug for m in env.inventory.municipalities]
    with ThreadPoolExecutor(WORKERS) as pool:
        rows = [row for found in pool.map(lambda s: _matrix_of(env, s, calls), slugs) for row in found]
    return Item("access", "Each municipality's token reaches its own pool, guests, VNet and storage, and no "
                "other's", "access", True, controls, tuple(rows))
