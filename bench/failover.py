"""`partilha dr run failover-site` of Médio Tejo's gold tier to its recovery site (Abrantes) on a
throwaway lab realising inventories/medio-tejo, every node of the primary site (Tomar) down: the
wall time, and the RTO achieved per guest and per tier (from the run's start to each guest verified:
its baseline and its data digest), with the machine's load average before and after.

    .venv/bin/python bench/failover.py [--municipalities 13]

The inventory is Médio Tejo's with directory storages (bench/up_medio_tejo.py says why), trimmed to
the gold tier's guests (the others take no part in it): the portals and archives of the first
`--municipalities` municipalities (default all 13) and the CIM's e-procurement. Each is made
(`partilha up`), baselined, its services deployed, and backed up to the recovery site's backup
storage, as the offsite copy is, with partilha's vzdump hook in the lab nodes' vzdump.conf (what
`partilha deploy hypervisor` writes on real nodes): each archive's sha256 and the guest's data
digest are recorded beside it, so the runbook checks and compares them as it would in production.
Then Tomar's nodes go down and the runbook runs (--fenced --yes). The set-up's phases, the
machine's memory in use (sampled every half second) and the RTO's p50 and p90 are printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import labbench
import up_medio_tejo
import upbench
import yaml
from proxmoxer import ProxmoxAPI

from partilha.automation.envs import load_env
from partilha.deploy import stack_outputs
from partilha.deploy.sources import fleet_for
from partilha.inventory import guests, load_inventory
from partilha.lab import control

TIER = "gold"


def gold_only(folder: Path, municipalities: int) -> Path:
    """The inventory in `folder` with only the gold tier's services of the first `municipalities`
    municipalities (and their VNets) and of the shared services."""
    inv = load_inventory(folder)
    gold = {name for name, s in inv.services.items() if s.backup_tier == TIER}
    data = yaml.safe_load((folder / "municipalities.yaml").read_text())
    data["municipalities"] = data["municipalities"][:municipalities]
    for tenant in [*data["municipalities"], data["shared"]]:
        tenant["services"] = {k: v for k, v in tenant["services"].items() if k in gold}
    (folder / "municipalities.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    kept = {m["slug"] for m in data["municipalities"]}
    networks = yaml.safe_load((folder / "networks.yaml").read_text())
    networks["networks"]["vnets"] = [v for v in networks["networks"]["vnets"]
                                     if v.get("municipality", next(iter(kept))) in kept]
    (folder / "networks.yaml").write_text(yaml.safe_dump(networks, allow_unicode=True))
    return folder


def admin(op: upbench.Operator) -> ProxmoxAPI:
    creds = json.loads(op.lab.credentials.read_text())
    user, token = creds["token_id"].split("!")
    return ProxmoxAPI("127.0.0.1", port=op.lab.port, user=user, token_name=token,
                      token_value=creds["token_secret"], verify_ssl=str(op.lab.cert))


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--municipalities", type=int, default=13, help="how many of the 13 take part")
    count = parser.parse_args().municipalities
    with tempfile.TemporaryDirectory(prefix="partilha-bench-fo-") as tmp:
        inventory = gold_only(up_medio_tejo.with_dir_storages(up_medio_tejo.INVENTORY, Path(tmp) / "inv"),
                              count)
        with upbench.operator(inventory) as op, upbench.PeakMemory() as memory:
            phases = {"up": op.partilha("up", "--env", upbench.ENV, "--lab", "--inventory", str(inventory))}
            os.environ.update(op.env)
            env = load_env(upbench.ENV)
            made = stack_outputs.guest_outputs(env)
            fleet = Path(tmp) / "fleet.json"
            fleet_for(env).select(list(made)).save(fleet)  # the guests, the front door's certificate
            phases["deploy baseline"] = op.partilha("deploy", "baseline", "--fleet", str(fleet))
            phases["deploy services"] = op.partilha("deploy", "services", "--fleet", str(fleet))
            labbench.record_with_hook(op.lab)
            inv = env.inventory
            lost = next(s.name for s in inv.datacentre.sites if s.role == "primary")
            to = next(s.name for s in inv.datacentre.sites if s.role == "dr")
            api = admin(op)
            started = time.monotonic()
            for g in guests(inv):
                labbench.finished(api, api.nodes(made[g.name]["node"]).vzdump.post(
                    vmid=g.vmid, storage=inv.backup.storages[to], compress="zstd"))
            phases["vzdump to the recovery site"] = time.monotonic() - started
            for node in inv.datacentre.nodes:
                if node.site == lost:
                    control.set_node_online(op.lab, node.name, False)
            before = loadavg()
            with upbench.PeakMemory() as during:
                seconds = op.partilha("dr", "run", "failover-site", "--from", lost, "--to", to,
                                      "--tier", TIER, "--fenced", "--yes", "--env", upbench.ENV)
            after = loadavg()
            [run] = (op.home / ".partilha" / "state" / "partilha-dr" / "runs").glob("failover-site-*")
            figures = json.loads((run / "report.json").read_text())["figures"]
            print(f"\nfailover-site {lost} -> {to}, tier {TIER}: {len(figures['restored'])} guests of "
                  f"{count} municipalities and the CIM, `dr run` {seconds:.1f} s wall time")
            print(f"/proc/loadavg before: {before}; after: {after}")
            print("before it: " + ", ".join(f"{name} {s:.0f} s" for name, s in phases.items()))
            print(f"during `dr run`, {during.report()}; the whole bench, {memory.report()}")
            for r in figures["restored"]:
                print(f"  {r['guest']:34} RTO {r['rto_s']:7.1f} s  RPO {r['rpo_s']:7.1f} s  data {r['data']}")
            rtos = [r["rto_s"] for r in figures["restored"]]
            print(f"RTO per guest: p50 {labbench.quantile(rtos, 0.5):.1f} s, "
                  f"p90 {labbench.quantile(rtos, 0.9):.1f} s, max {max(rtos):.1f} s")
            for t in figures["tiers"]:
                print(f"tier {t['tier']}: {len(t['guests'])} guests, RTO achieved {t['rto_s']:.1f} s "
                      f"(target {t['rto_target_s']:.0f} s: {'met' if t['rto_met'] else 'MISSED'}), "
                      f"RPO {t['rpo_s']:.1f} s")


if __name__ == "__main__":
    main()
