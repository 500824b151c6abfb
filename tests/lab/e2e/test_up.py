"""`partilha up --env lab` end to end on a throwaway lab: bad input stops before any API call;
`up` realises every guest of the inventory, each answering SSH with its pinned host key, the
municipalities' guests made with their own tokens; a second `up` changes and writes nothing;
`refresh` reports a change made behind its back and `up` puts it back; `destroy` asks first, then
leaves the lab without a guest. One `up` serves every assertion after it (the tests run in order).
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from proxmoxer import ProxmoxAPI

from partilha.inventory import Guest, guests
from partilha.lab.instance import LabInstance
from partilha.lab.machine.lxc import containers

from .conftest import ROOT, Cli, lab_vmids

pytestmark = pytest.mark.lab
Guests = dict[str, Guest]


@pytest.fixture(scope="module")
def expected(cli: Cli) -> Guests:
    return {g.name: g for g in guests(cli.inventory)}


def _ok(run: subprocess.CompletedProcess[str]) -> None:
    assert run.returncode == 0, f"{run.args}: {run.stderr}\n{run.stdout[-3000:]}"


def _one_clear_error(run: subprocess.CompletedProcess[str], code: int, words: str) -> None:
    assert run.returncode == code, run.stdout + run.stderr
    assert words in run.stderr and "Traceback" not in run.stdout + run.stderr


def test_bad_input_stops_before_any_api_call(cli: Cli) -> None:
    since = cli.mark()
    invalid = cli("up", "--env", "broken", "--inventory", str(ROOT / "tests" / "data" / "duplicate-slug"))
    _one_clear_error(invalid, 2, "invalid inventory")
    assert "municipalities.yaml" in invalid.stderr
    _one_clear_error(cli("up", "--only", "lisboa"), 1, "--only lisboa: env lab has no such stack")
    _one_clear_error(cli("up", "--only", "abrantes"), 1, "no API token 'lab-abrantes' in the token store")
    assert cli.calls(since) == []
    closed = cli("up", "--only", "platform", PROXMOX_VE_ENDPOINT="https://127.0.0.1:9/")  # nobody there
    _one_clear_error(closed, 1, "lab-platform: the Proxmox VE API at https://127.0.0.1:9 does not answer")


@dataclass(frozen=True)
class Up:
    run: subprocess.CompletedProcess[str]
    since: int  # the access log's mark before it


@pytest.fixture(scope="module")
def first_up(cli: Cli) -> Up:
    since = cli.mark()
    return Up(cli("up", "--env", "lab"), since)


def test_up_realises_every_guest_reachable_with_its_pinned_host_key(
        cli: Cli, first_up: Up, lab: LabInstance, expected: Guests) -> None:
    _ok(first_up.run)
    made: dict[str, dict[str, object]] = {}
    for tenant in ["shared", *(m.slug for m in cli.inventory.municipalities)]:
        made.update(cli.outputs(f"lab-{tenant}")["guests"])
    assert {n: (g["vmid"], g["address"]) for n, g in made.items()} == {
        n: (g.vmid, str(g.address.ip if g.address else None)) for n, g in expected.items()}
    key = cli.home / ".partilha" / "ssh" / "id_ed25519"

    def hostname(address: object) -> str:
        return subprocess.run(
            ["ssh", "-F", "/dev/null", "-i", str(key), "-o", "StrictHostKeyChecking=yes",
             "-o", f"UserKnownHostsFile={lab.known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
             "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", f"root@{address}", "hostname"],
            capture_output=True, text=True, timeout=60, check=False).stdout.strip()

    with ThreadPoolExecutor(4) as pool:
        answered = dict(zip(made, pool.map(hostname, (g["address"] for g in made.values())), strict=True))
    assert all(answered.values()), {n: h for n, h in answered.items() if not h}
    table = first_up.run.stdout
    for name, guest in made.items():  # the summary shows each guest and how to reach it
        assert name in table and f"UserKnownHostsFile={lab.known_hosts} " in table
        assert f"root@{guest['address']}" in table


def test_municipality_guests_are_made_with_their_own_token(
        cli: Cli, first_up: Up, lab: LabInstance, expected: Guests) -> None:
    _ok(first_up.run)
    admin = json.loads(lab.credentials.read_text())["token_id"]
    calls = cli.calls(first_up.since)
    for guest in (g for g in expected.values() if not g.shared):
        # its config calls name it in the path, its tasks in the UPID (which the task calls carry)
        touching = [e for e in calls if f"/lxc/{guest.vmid}" in e.path or f":{guest.vmid}:" in e.path]
        assert touching, guest.name
        callers = {e.caller for e in touching}
        assert admin not in callers and all(guest.tenant in c for c in callers), (guest.name, callers)


def test_a_second_up_changes_and_writes_nothing(cli: Cli, first_up: Up) -> None:
    _ok(first_up.run)
    since = cli.mark()
    again = cli("up", "--env", "lab")
    _ok(again)
    assert "— 0 changes" in again.stdout
    assert [f"{e.method} {e.path}" for e in cli.calls(since) if e.write] == []


def test_refresh_reports_drift_and_up_puts_it_back(
        cli: Cli, first_up: Up, admin_token: ProxmoxAPI, expected: Guests) -> None:
    _ok(first_up.run)
    guest = expected["abrantes-portal"]
    config = admin_token.nodes(guest.node).lxc(guest.vmid).config
    declared = int(config.get()["memory"])
    config.put(memory=declared + 128)  # by hand, behind the stack's back
    found = cli("refresh", "--env", "lab", "--only", "abrantes")
    _ok(found)
    assert "abrantes-portal" in found.stdout and "memory" in found.stdout
    assert f"{declared}" in found.stdout and f"{declared + 128}" in found.stdout
    _ok(cli("up", "--env", "lab", "--only", "abrantes"))
    assert int(config.get()["memory"]) == declared


def test_destroy_asks_first_then_leaves_no_guest(
        cli: Cli, first_up: Up, lab: LabInstance,
        admin_token: ProxmoxAPI) -> None:
    _ok(first_up.run)
    since = cli.mark()
    _one_clear_error(cli("destroy", "--env", "lab"), 1, "confirm with --yes")
    assert cli.calls(since) == []
    _ok(cli("destroy", "--env", "lab", "--yes"))
    assert lab_vmids(admin_token) == set()
    assert containers.list_guests(lab.prefix) == []
    assert not list((cli.home / ".partilha" / "tokens").glob("lab-*.token"))  # the tokens went too
