"""The lab API speaks PVE to an unchanged proxmoxer: tickets, CSRF, tokens, envelopes, errors."""

from __future__ import annotations

import json
import re
import ssl
import stat
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import AuthenticationError, ResourceException

from partilha.errors import UserError
from partilha.lab import control
from partilha.lab.instance import LabInstance
from partilha.lab.server import access_log


def raw(
    lab: LabInstance,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
) -> tuple[int, str, dict[str, Any]]:
    """A bare HTTPS call, to see status line, reason and body exactly as PVE clients do."""
    context = ssl.create_default_context(cafile=str(lab.cert))
    context.check_hostname = False
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(f"{lab.url}{path}", data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, response.reason, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, err.reason, json.loads(err.read() or b"null")


def test_credentials_and_key_are_private(lab: LabInstance) -> None:
    for path in (lab.credentials, lab.key):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert len(lab.fingerprint_file.read_text().strip().split(":")) == 32


def test_ticket_login_and_envelope(admin: ProxmoxAPI) -> None:
    assert admin.version.get()["release"].startswith("8.")
    nodes = {n["node"]: n for n in admin.nodes.get()}
    assert set(nodes) == {"pve1", "pve2", "pve3", "pve-dr1"}
    assert admin.cluster.status.get()[0]["quorate"] == 1


def test_token_login(admin_token: ProxmoxAPI) -> None:
    assert {n["name"] for n in admin_token.cluster.status.get() if n["type"] == "node"} == {
        "pve1",
        "pve2",
        "pve3",
        "pve-dr1",
    }


def test_wrong_password_and_token_are_401(lab: LabInstance, creds: dict[str, Any]) -> None:
    with pytest.raises(AuthenticationError, match="code: 401"):
        ProxmoxAPI("127.0.0.1", port=lab.port, user="root@pam", password="wrong", verify_ssl=str(lab.cert))
    status, reason, _ = raw(
        lab, "GET", "/version", {"Authorization": f"PVEAPIToken={creds['token_id']}=not-the-secret"}
    )
    assert (status, reason) == (401, "authentication failure")
    assert raw(lab, "GET", "/version")[:2] == (401, "No ticket")


def test_writes_with_a_ticket_need_the_csrf_token(lab: LabInstance, creds: dict[str, Any]) -> None:
    _, _, login = raw(
        lab, "POST", "/access/ticket", data={"username": "root@pam", "password": creds["password"]}
    )
    ticket = login["data"]["ticket"]
    assert ticket.startswith("PVE:root@pam:") and "::" in ticket
    cookie = {"Cookie": f"PVEAuthCookie={urllib.parse.quote(ticket)}"}
    assert raw(lab, "GET", "/pools", cookie)[0] == 200
    status, reason, _ = raw(lab, "POST", "/pools", cookie, {"poolid": "nocsrf"})
    assert (status, reason) == (401, "Permission denied - invalid csrf token")
    csrf = {**cookie, "CSRFPreventionToken": login["data"]["CSRFPreventionToken"]}
    assert raw(lab, "POST", "/pools", csrf, {"poolid": "withcsrf"})[0] == 200


def test_parameter_errors_come_back_per_parameter(lab: LabInstance, admin: ProxmoxAPI) -> None:
    with pytest.raises(ResourceException) as err:
        admin.cluster.nextid.get(vmid=42)
    assert err.value.status_code == 400
    assert err.value.errors == {"vmid": "value must have a minimum value of 100"}
    with pytest.raises(ResourceException) as err:
        admin.pools.post(poolid="p1", colour="blue")
    assert "colour" in err.value.errors


def test_errors_carry_the_message_as_reason(lab: LabInstance, creds: dict[str, Any]) -> None:
    auth = {"Authorization": f"PVEAPIToken={creds['token_id']}={creds['token_secret']}"}
    status, reason, body = raw(lab, "GET", "/pools/missing", auth)
    assert (status, reason, body) == (500, "pool 'missing' does not exist", {"data": None})
    status, reason, _ = raw(lab, "GET", "/nodes/pve1/nothing", auth)
    assert (status, reason) == (501, "Method 'GET /nodes/pve1/nothing' not implemented")


def test_nextid_has_pves_race(admin: ProxmoxAPI) -> None:
    # Nothing is reserved: two callers asking at once are told the same id.
    assert admin.cluster.nextid.get() == admin.cluster.nextid.get() == 100


def test_node_down_is_reported_and_calls_to_it_fail(lab: LabInstance, admin: ProxmoxAPI) -> None:
    control.set_node_online(lab, "pve2", False)
    try:
        nodes = {n["node"]: n["status"] for n in admin.nodes.get()}
        assert nodes["pve2"] == "offline"
        with pytest.raises(ResourceException) as err:
            admin.nodes("pve2").status.get()
        assert err.value.status_code == 595
        assert admin.nodes("pve1").status.get()["cpuinfo"]["cpus"] == 2
    finally:
        control.set_node_online(lab, "pve2", True)
    assert {n["node"]: n["status"] for n in admin.nodes.get()}["pve2"] == "online"


def test_a_lost_site_leaves_a_minority_that_pvecm_expected_makes_quorate(
        lab: LabInstance, admin: ProxmoxAPI) -> None:
    primary = ("pve1", "pve2", "pve3")
    for node in primary:
        control.set_node_online(lab, node, False)
    try:
        assert admin.cluster.status.get()[0]["quorate"] == 0
        assert admin.cluster.ha.status.current.get()[0]["status"].startswith("No quorum")
        for node, argv, said in (
                ("pve1", ["pvecm", "expected", "1"], "ssh: connect to host pve1 port 22: No route to host"),
                ("pve-dr1", ["pvecm", "expected", "4"], "Unable to set expected votes: CS_ERR_INVALID_PARAM"),
                ("pve-dr1", ["mv", "/etc/pve/nodes/pve2/lxc/777.conf", "/etc/pve/nodes/pve-dr1/lxc/"],
                 "mv: cannot stat '/etc/pve/nodes/pve2/lxc/777.conf': No such file or directory"),
                ("pve-dr1", ["rm", "-rf", "/"], "the lab's nodes run `pvecm expected VOTES`"),
                ("pve9", ["pvecm", "expected", "1"],
                 "unknown node 'pve9' (the lab has pve1, pve2, pve3, pve-dr1)")):
            with pytest.raises(UserError, match=re.escape(said)):
                control.run_on_node(lab, node, argv)
        assert admin.cluster.status.get()[0]["quorate"] == 0
        assert control.run_on_node(lab, "pve-dr1", ["pvecm", "expected", "1"]) == ""
        assert admin.cluster.status.get()[0]["quorate"] == 1
        control.set_node_online(lab, "pve1", True)  # a vote back: expected rises with it (2 of 2)
        control.set_node_online(lab, "pve-dr1", False)
        assert admin.cluster.status.get()[0]["quorate"] == 0
        control.set_node_online(lab, "pve-dr1", True)
    finally:
        for node in primary:
            control.set_node_online(lab, node, True)
    assert admin.cluster.status.get()[0]["quorate"] == 1
    control.set_node_online(lab, "pve2", False)  # expected is the node count again: 3 of 4
    try:
        assert admin.cluster.status.get()[0]["quorate"] == 1
    finally:
        control.set_node_online(lab, "pve2", True)


def test_down_then_up_brings_back_the_same_cluster(lab: LabInstance, admin: ProxmoxAPI) -> None:
    admin.pools.post(poolid="survivor")
    control.down(lab)
    assert not control.answers(lab)
    control.up(lab)
    assert "survivor" in {p["poolid"] for p in admin.pools.get()}


def test_access_log_records_caller_route_and_status(lab: LabInstance, admin_token: ProxmoxAPI,
                                                    creds: dict[str, Any]) -> None:
    start = access_log.mark(lab.state_dir)
    admin_token.nodes("pve1").status.get()
    with pytest.raises(ResourceException):
        admin_token.nodes("nowhere").lxc(999).config.get()
    entries = access_log.read(lab.state_dir, start)
    assert [(e.caller, e.method, e.route, e.status) for e in entries] == [
        (creds["token_id"], "GET", "/nodes/{node}/status", 200),
        (creds["token_id"], "GET", "/nodes/{node}/lxc/{vmid}/config", entries[1].status)]
    assert entries[1].status >= 400 and not any(e.write for e in entries)
