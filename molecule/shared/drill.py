"""What the drills' playbooks need of a throwaway lab that `partilha` itself does not do.

    drill.py prepare HOME [--services SLUG=SERVICE,...]
        once per drill: a lab prefix, a free API port and a copy of inventories/lab on free
        subnets (a user's lab holds the inventory's own), with only those municipalities, each
        with only those services; writes and prints HOME/drill.json (again: prints what it holds)
    drill.py guests HOME NAME...
        those guests of the drill's inventory made through the lab's API as the stacks make them,
        and HOME/fleet.json: them and the lab's node hosts, for `partilha deploy|verify --fleet`
    drill.py fleet HOME SLUG...
        HOME/fleet.json from the guests those tenants' stacks made (`partilha up --only SLUG`)
        and the lab's node hosts: `partilha deploy --env` wants every tenant's stack
    drill.py corrupt HOME GUEST
        the guest's newest archive on its backup storage cut in half (a restore must skip it)
    drill.py disaster HOME GUEST
        the disaster: the guest stopped and deleted, disk and all, through the lab's API; prints
        when (ISO 8601, UTC), for `partilha dr run --disaster-at`

HOME is the drill's PARTILHA_HOME: its lab, state, keys and known_hosts live under it.
Run with the checkout's .venv/bin/python.
"""

from __future__ import annotations

import argparse
import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from proxmoxer import ProxmoxAPI

from partilha.automation.envs import load_env
from partilha.deploy import stack_outputs
from partilha.deploy.fleet import Fleet
from partilha.deploy.hosts import build_hosts
from partilha.deploy.sources import lab_node_addresses
from partilha.inventory import guests, load_inventory
from partilha.lab import LabInstance, free_port, free_subnets, make_guests, relocated, wait_task
from partilha.workspace import CHECKOUT, Workspace

ENV = "drill"


def prepare(home: Path, services: dict[str, list[str]]) -> dict[str, object]:
    saved = home / "drill.json"
    if saved.is_file():
        return dict(json.loads(saved.read_text()))
    home.mkdir(parents=True, exist_ok=True)
    source = CHECKOUT / "inventories" / "lab"
    vnets = load_inventory(source).networks.vnets
    inventory = relocated(source, home / "inventory", free_subnets(len(vnets), base="10.218"))
    if services:
        trim(inventory, services)
    drill = {"env": ENV, "prefix": f"m{secrets.token_hex(2)}-", "port": free_port(),
             "inventory": str(inventory)}
    saved.write_text(json.dumps(drill, indent=2) + "\n")
    return drill


def admin(lab: LabInstance) -> ProxmoxAPI:
    creds = json.loads(lab.credentials.read_text())
    user, _, token = creds["token_id"].partition("!")
    return ProxmoxAPI("127.0.0.1", port=lab.port, user=user, token_name=token,
                      token_value=creds["token_secret"], verify_ssl=str(lab.cert))


def trim(inventory: Path, services: dict[str, list[str]]) -> None:
    """Only those municipalities (and their VNets), with only those services: a smaller platform."""
    path = inventory / "municipalities.yaml"
    data = yaml.safe_load(path.read_text())
    data["municipalities"] = [dict(m, services=dict.fromkeys(services[m["slug"]]))
                              for m in data["municipalities"] if m["slug"] in services]
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    path = inventory / "networks.yaml"
    data = yaml.safe_load(path.read_text())
    data["networks"]["vnets"] = [v for v in data["networks"]["vnets"]
                                 if v.get("municipality") in (None, *services)]
    path.write_text(yaml.safe_dump(data, allow_unicode=True))


def make(home: Path, names: list[str]) -> Path:
    lab = LabInstance.load(home / ".partilha" / "lab")
    api = admin(lab)
    inventory = load_inventory(lab.inventory)
    chosen = [g for g in guests(inventory) if g.name in names]
    missing = set(names) - {g.name for g in chosen}
    if missing:
        raise SystemExit(f"no guest {', '.join(sorted(missing))} in {lab.inventory}")
    key = Workspace(home).ssh_key(lab=True)
    return save_fleet(home, lab, make_guests(api, inventory, chosen, key.with_suffix(".pub").read_text()))


def stacks_fleet(home: Path, slugs: list[str]) -> Path:
    lab = LabInstance.load(home / ".partilha" / "lab")
    env = load_env(ENV, workspace=Workspace(home))
    outputs = {name: guest for slug in slugs
               for name, guest in stack_outputs.stack_guests(env, f"{ENV}-{slug}").items()}
    return save_fleet(home, lab, outputs)


def save_fleet(home: Path, lab: LabInstance, outputs: dict[str, dict[str, Any]]) -> Path:
    """HOME/fleet.json: the guests `outputs` names and the lab's node hosts."""
    hosts = build_hosts(load_inventory(lab.inventory), outputs, lab_node_addresses(lab), ENV, lab=True)
    fleet = home / "fleet.json"
    Fleet(ENV, tuple(hosts), lab.known_hosts, Workspace(home).ssh_key(lab=True)).save(fleet)
    return fleet


def corrupt(home: Path, name: str) -> str:
    lab = LabInstance.load(home / ".partilha" / "lab")
    [guest] = [g for g in guests(load_inventory(lab.inventory)) if g.name == name]
    archives = sorted((lab.state_dir / "storage").glob(f"*/dump/vzdump-lxc-{guest.vmid}-*.tar.zst"))
    if not archives:
        raise SystemExit(f"no archive of {name} on the drill's backup storages")
    newest = archives[-1]
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    return newest.name


def disaster(home: Path, name: str) -> str:
    api = admin(LabInstance.load(home / ".partilha" / "lab"))
    found = [r for r in api.cluster.resources.get(type="vm") if r.get("name") == name]
    if not found:
        raise SystemExit(f"no guest {name} in the drill's lab")
    guest = api.nodes(found[0]["node"]).lxc(found[0]["vmid"])
    at = datetime.now(UTC).isoformat(timespec="seconds")
    if guest.status.current.get()["status"] == "running":
        wait_task(api, guest.status.stop.post())
    wait_task(api, guest.delete())
    return at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    first = sub.add_parser("prepare")
    first.add_argument("home", type=Path)
    first.add_argument("--services", default="", help="SLUG=SERVICE[+SERVICE],...")
    second = sub.add_parser("guests")
    second.add_argument("home", type=Path)
    second.add_argument("names", nargs="+")
    fourth = sub.add_parser("fleet")
    fourth.add_argument("home", type=Path)
    fourth.add_argument("slugs", nargs="+")
    fifth = sub.add_parser("corrupt")
    fifth.add_argument("home", type=Path)
    fifth.add_argument("guest")
    third = sub.add_parser("disaster")
    third.add_argument("home", type=Path)
    third.add_argument("guest")
    args = parser.parse_args()
    home = args.home.resolve()
    if args.command == "prepare":
        services = {slug: kept.split("+") for slug, _, kept in
                    (item.partition("=") for item in args.services.split(",") if item)}
        print(json.dumps(prepare(home, services)))
    elif args.command == "guests":
        print(make(home, args.names))
    elif args.command == "fleet":
        print(stacks_fleet(home, args.slugs))
    elif args.command == "corrupt":
        print(corrupt(home, args.guest))
    else:
        print(disaster(home, args.guest))


if __name__ == "__main__":
    main()
