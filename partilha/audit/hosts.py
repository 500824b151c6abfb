"""(b) The controls proven on every host: the newest `partilha verify` results (verify.json,
control x host, with each not-applicable reason), against the hosts the env has now (its nodes
and its inventory's guests). A host verify did not cover, or results older than the limit, are
"not proven"; a skipped test too."""

from __future__ import annotations

import json
import os
from collections import defaultdict

from partilha.audit.freshness import Read
from partilha.audit.model import Evidence, Item, Status
from partilha.automation.envs import Env
from partilha.deploy.catalogue import all_controls
from partilha.deploy.sources import lab_node_addresses
from partilha.inventory import guests
from partilha.lab import LabInstance
from partilha.policy.rule import Control
from partilha.verify import Outcomes

# What hardening a host proves besides the control's own CIS references
NIS2_HYGIENE = Control("NIS2", "art. 21(2)(g)", "basic cyber hygiene practices")
ISO_CONFIGURATION = Control("ISO/IEC 27001:2022", "A.8.9", "configuration management")
STATUS: dict[str, Status] = {"passed": "passed", "failed": "failed", "na": "not applicable",
                             "skipped": "not proven"}


def expected_hosts(env: Env) -> list[str]:
    """Every guest, and every node: in a lab env, those the lab realises as hosts."""
    nodes = [n.name for n in env.inventory.datacentre.nodes]
    lab = env.lab_dir(os.environ) if env.lab else None
    if lab is not None and (lab / "instance.json").is_file():
        nodes = [n for n in nodes if n in lab_node_addresses(LabInstance.load(lab))]
    return nodes + [g.name for g in guests(env.inventory)]


def items(env: Env, max_age_s: float) -> list[Item]:
    path = env.workspace.reports(env.name) / "verify.json"
    read = Read.of(path, max_age_s)
    catalogue = all_controls()
    if read is None:
        return [Item("verify", "Every control proven on every host", "host control", True,
                     (NIS2_HYGIENE, ISO_CONFIGURATION),
                     (Evidence(env.name, "not proven", f"no verify results ({path})",
                               f"`partilha verify all --env {env.name}`", 0.0),))]
    outcomes = Outcomes.load(path)
    tests = {(o["control"], o["host"]): o.get("test", "") for o in json.loads(path.read_text())["outcomes"]}
    stale = read.stale
    by_control: dict[str, list[Evidence]] = defaultdict(list)
    hosts = expected_hosts(env)
    for control_id in catalogue:
        seen = {o.host: o for o in outcomes.items if o.control == control_id}
        for host in hosts:
            o = seen.get(host)
            source = f"`partilha verify`: pytest {tests.get((control_id, host)) or 'tests/infra'} ({path})"
            if o is None:
                by_control[control_id].append(Evidence(host, "not proven", "verify did not test this host",
                                                       source, read.at))
                continue
            status, detail = STATUS[o.outcome], o.message or o.outcome
            if host in outcomes.unreachable:
                status, detail = "failed", f"host refused or unreachable: {outcomes.unreachable[host]}"
            if stale and status != "not applicable":
                status, detail = "not proven", stale
            by_control[control_id].append(Evidence(host, status, detail, source, read.at))
    return [Item(cid, c.title, "host control", True,
                 (*(Control("CIS Debian 12", ref, c.title) for ref in c.cis), NIS2_HYGIENE,
                  ISO_CONFIGURATION), tuple(by_control[cid])) for cid, c in catalogue.items()]
