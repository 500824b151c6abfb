"""What a lab instance has on this machine besides its API server: the guests' package cache, the
SDN bridges and nftables table, and the guests' containers. `lab up` brings them back (restarting
the guests that were running), `lab down` stops them, `lab reset` removes them.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from partilha.lab import cluster, guests
from partilha.lab.guests import GuestRow, guest_apply
from partilha.lab.instance import LabInstance
from partilha.lab.machine import machine
from partilha.lab.sdn import sdn_apply
from partilha.lab.server.store import Store

WORKERS = 4
SHUTDOWN_TIMEOUT = 30.0


def bring_up(instance: LabInstance) -> list[str]:
    """Kernel limits, cache, network, then the guests the state says were running; what failed,
    in words."""
    machine.ensure_host_limits()
    machine.start_apt_cache(instance.package_cache)
    with Store(instance.db) as store:
        sdn_apply.realise(store, instance, lambda line: None)
        online = {n.name for n in cluster.nodes(store) if n.online}
        wanted = [g for g in guests.every(store) if g.status == "running" and g.node in online]

        def start(guest: GuestRow) -> str | None:
            try:
                guest_apply.start(store, instance, guest)
            except Exception as exc:
                guests.update(store, guest.vmid, status="stopped")
                return f"{guest.kind} {guest.vmid} did not start: {exc}"
            return None

        with ThreadPoolExecutor(WORKERS) as pool:
            return [problem for problem in pool.map(start, wanted) if problem]


def stop(instance: LabInstance) -> None:
    """Shut the guests down (the state keeps them `running` for the next `up`), then the
    network and the cache."""
    running = [n for n in machine.containers(instance.prefix) if machine.is_running(n)]

    def halt(name: str) -> None:
        machine.shutdown(name, timeout=SHUTDOWN_TIMEOUT, force=True)

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(halt, running))
    sdn_apply.teardown(instance)
    machine.stop_apt_cache(instance.package_cache)


def remove(instance: LabInstance) -> list[str]:
    """Every container, bridge and the table of the instance, and its cache process; every step
    runs even if an earlier one failed. Returns what could not be removed."""
    errors: list[str] = []

    def step(what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception as exc:  # keep cleaning
            errors.append(f"{what}: {exc}")

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(lambda name: step(name, partial(machine.destroy, name, instance.guests_root,
                                                      instance.known_hosts)),
                      machine.containers(instance.prefix)))
    step("network", lambda: sdn_apply.teardown(instance))
    step("package cache", lambda: machine.stop_apt_cache(instance.package_cache))
    return errors
