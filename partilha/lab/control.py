"""Bringing a lab instance up and down: state, credentials, certificate, the API server process,
and (partilha.lab.lifecycle) its package cache, network and guests on this machine."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from ipaddress import IPv4Interface
from pathlib import Path
from typing import Any

from partilha.errors import UserError
from partilha.inventory import load_inventory
from partilha.lab import access, cluster, lifecycle, sdn, server_process, storage
from partilha.lab.cluster import node_hosts, node_power, node_shell
from partilha.lab.instance import LabInstance
from partilha.lab.machine import machine
from partilha.lab.sdn import outside
from partilha.lab.server import faults
from partilha.lab.server.certs import ensure_certificate
from partilha.lab.server.store import Store
from partilha.workspace import Workspace

ADMIN = "root@pam"
ADMIN_TOKEN = "partilha"  # noqa: S105 (a token name, not its secret)
START_TIMEOUT = 20.0
STOP_TIMEOUT = 20.0


def initialise(instance: LabInstance) -> dict[str, Any]:
    """State, certificate and admin credentials; existing ones are kept (lab up is idempotent)."""
    inventory = load_inventory(instance.inventory)
    instance.save()
    ensure_certificate(instance.cert, instance.key, instance.fingerprint_file)
    store = Store(instance.db)
    try:
        cluster.seed(store, inventory)
        storage.seed(store, inventory)
        if instance.node_hosts:  # before the firewall is first applied, which includes it
            node_hosts.claim_network(store, instance)
        outside.claim(store, instance)  # the same
        if store.meta("ticket_key") is None:
            store.set_meta("ticket_key", secrets.token_hex(32))
        if instance.credentials.is_file():
            return dict(json.loads(instance.credentials.read_text()))
        password = secrets.token_urlsafe(18)
        store.put_object(access.USER, ADMIN, {"enable": 1, "expire": 0, "comment": "lab admin",
                                              "password": access.hash_password(password)})
        secret = access.create_token(store, ADMIN, ADMIN_TOKEN, privsep=False,
                                     comment="partilha lab admin token")
    finally:
        store.close()
    credentials = {"url": instance.url, "username": ADMIN, "password": password,
                   "token_id": f"{ADMIN}!{ADMIN_TOKEN}", "token_secret": secret,
                   "fingerprint": instance.fingerprint_file.read_text().strip()}
    fd = os.open(instance.credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(credentials, out, indent=2)
    return credentials


def server_pid(instance: LabInstance) -> int | None:
    """The API server's PID, if the PID file names this lab's server (never a stranger's)."""
    return server_process.running(instance.pid_file, instance.state_dir)


def answers(instance: LabInstance) -> bool:
    """The API answers on its port (401 without credentials is an answer)."""
    context = ssl.create_default_context(cafile=str(instance.cert))
    context.check_hostname = False
    try:
        urllib.request.urlopen(f"{instance.url}/version", timeout=2, context=context)  # noqa: S310
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def up(instance: LabInstance) -> dict[str, Any]:
    """State, then cache, network and the guests that were running, then the API server."""
    credentials = initialise(instance)
    if server_pid(instance) is None:
        try:
            problems = lifecycle.bring_up(instance)
            with Store(instance.db) as store:
                problems += node_hosts.bring_up(store, instance)
        except Exception as exc:
            down(instance)
            raise UserError(f"the lab could not be brought up: {exc}") from exc
        with instance.log_file.open("ab") as log:  # the server keeps its own copy of the fd
            process = subprocess.Popen(server_process.argv(sys.executable, instance.state_dir),
                                       stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        server_process.record(instance.pid_file, process.pid)
        deadline = time.monotonic() + START_TIMEOUT
        while not answers(instance):
            if process.poll() is not None or time.monotonic() > deadline:
                down(instance)
                raise UserError(f"the lab API did not start on port {instance.port}; "
                                f"see {instance.log_file}")
            time.sleep(0.1)
        if problems:
            raise UserError("the lab is up, but " + "; ".join(problems))
    return credentials


def down(instance: LabInstance) -> None:
    """Stop the API server, then the guests, network and cache; the state stays."""
    _stop_server(instance)
    lifecycle.stop(instance)


def _stop_server(instance: LabInstance) -> None:
    pid = server_pid(instance)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while server_pid(instance) == pid and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # reap it when it is our child
            time.sleep(0.1)
        if server_pid(instance) == pid:
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it if it was our child and has exited
    instance.pid_file.unlink(missing_ok=True)


def reset(instance: LabInstance) -> None:
    """Remove everything the lab created: containers, bridges, nftables table, cache, state. The
    guests are stopped hard, not shut down: nothing of them is kept."""
    _stop_server(instance)
    errors = lifecycle.remove(instance)
    shutil.rmtree(instance.state_dir, ignore_errors=True)
    if errors:
        raise UserError("lab reset could not remove " + "; ".join(errors))


def set_node_online(instance: LabInstance, node: str, online: bool) -> list[str]:
    """`node-down` / `node-up` (partilha.lab.cluster.node_power); what failed to start, in words."""
    store = Store(instance.db)
    try:
        _known(store, node)
        if not online:
            node_power.power_off(store, instance, node)
            return []
        return node_power.power_on(store, instance, node, realise=server_pid(instance) is not None)
    finally:
        store.close()


def _known(store: Store, node: str) -> None:
    """`node` is one of the lab's, or one line naming them."""
    if cluster.node(store, node) is None:
        known = ", ".join(n.name for n in cluster.nodes(store))
        raise UserError(f"unknown node {node!r} (the lab has {known})")


def run_on_node(instance: LabInstance, node: str, argv: list[str]) -> str:
    """A command on a node's shell as the lab's nodes answer it (partilha.lab.cluster.node_shell);
    a failure is one line, what the node printed."""
    with Store(instance.db) as store:
        _known(store, node)  # a name of no node is no node that is down
        try:
            return node_shell.run(store, node, argv)
        except node_shell.ShellError as exc:
            raise UserError(f"{node}: {exc}") from None


def status(instance: LabInstance) -> dict[str, Any]:
    store = Store(instance.db)
    try:
        nodes = cluster.nodes(store)
        guests = store.query("SELECT node, status, COUNT(*) AS n FROM guests GROUP BY node, status")
    finally:
        store.close()
    return {"pid": server_pid(instance), "answers": answers(instance), "url": instance.url,
            "nodes": nodes, "guests": [dict(g) for g in guests], "node_hosts": node_addresses(instance),
            "state_dir": str(instance.state_dir), "prefix": instance.prefix}


def set_faults(instance: LabInstance, setting: faults.Faults) -> None:
    """`lab faults`: from now on the running API and its tasks fail as `setting` says."""
    with Store(instance.db) as store:
        faults.save(store, setting)


def node_interfaces(instance: LabInstance) -> dict[str, str]:
    """Each node host's "address/prefix length" (partilha.lab.cluster.node_hosts); empty without
    node hosts."""
    with Store(instance.db) as store:
        net = node_hosts.node_network(store, instance)
        addresses = node_hosts.addresses(store, instance)
    if net is None:
        return {}
    return {name: f"{address}/{net.subnet.prefixlen}" for name, address in addresses.items()}


def node_addresses(instance: LabInstance) -> dict[str, str]:
    """Each node's host address (partilha.lab.cluster.node_hosts); empty without node hosts."""
    with Store(instance.db) as store:
        return node_hosts.addresses(store, instance)


def default_instance(root: Path, inventory: Path | None, port: int | None,
                     prefix: str | None = None) -> LabInstance:
    """The lab `lab up` brings up in a workspace: .partilha/lab, with node hosts trusting the
    operator's key; what `lab up` saved unless an inventory, port or prefix is given."""
    state_dir = root / ".partilha" / "lab"
    if (state_dir / "instance.json").is_file() and inventory is None and port is None and prefix is None:
        return saved_instance(root)
    return LabInstance(state_dir, (inventory or root / "inventories" / "lab").resolve(),
                       port or 8006, prefix or "plab-", node_key=_node_key(root))


def saved_instance(root: Path) -> LabInstance:
    """The lab `lab up` saved in a workspace, for every other lab command: never a default one
    (its prefix and port may be another workspace's lab); a UserError naming the folder when
    there is none."""
    instance = LabInstance.load(root / ".partilha" / "lab")
    return dataclasses.replace(instance, node_key=_node_key(root))


def _node_key(root: Path) -> Path:
    return Workspace(root).ssh_key(lab=True).with_suffix(".pub")


@contextlib.contextmanager
def probe_point(instance: LabInstance, ident: str, vnet: str, address: IPv4Interface) -> Iterator[list[str]]:
    """A host at `address` on VNet `vnet`'s network, routed through its gateway, while the block
    runs (network namespace `<prefix><ident>`): the command prefix that runs a program there."""
    with Store(instance.db) as store:
        applied = {v.vnet: v for v in sdn.applied_vnets(store, instance.prefix)}
    found = applied.get(vnet)
    if found is None or found.gateway is None:
        raise UserError(f"lab {instance.state_dir}: VNet {vnet} has no bridge with a gateway "
                        "(`partilha up` first)")
    name = f"{instance.prefix}{ident}"
    machine.remove_namespaces(name)  # one an interrupted run left, maybe elsewhere
    command = machine.ensure_namespace(name, address, found.gateway, found.bridge)
    try:
        yield command
    finally:
        machine.remove_namespaces(name)


def citizen(instance: LabInstance) -> tuple[str, str, str] | None:
    """(namespace, citizen address, the host's address there) of the lab's outside
    (partilha.lab.sdn.outside), or None before the first `lab up`."""
    if not instance.db.is_file():
        return None
    with Store(instance.db) as store:
        world = outside.outside(store, instance)
    return (world.namespace, str(world.citizen.ip), str(world.gateway.ip)) if world else None
