"""What PVE clients other than partilha call, served with PVE's formats and words: `GET
/access/permissions` (the caller's own map, one path's, a token's by its owner, another user's
only with Sys.Audit on /access), a container's root `password` at creation (at least 5
characters; only its hash kept), and its rootfs updated on its own volume (new mount options; its
size stays), where another volume or `unprivileged` is refused."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from ipaddress import IPv4Network
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from partilha.lab.instance import LabInstance

pytestmark = pytest.mark.lab
VMID = 9301
Fails = Callable[[Callable[[], Any]], ResourceException]


def test_access_permissions_as_pve_reports_them(lab: LabInstance, admin: ProxmoxAPI, fails: Fails) -> None:
    admin.pools.post(poolid="perm")
    admin.access.users.post(userid="perm@pve", password="secret-1")
    admin.access.users.post(userid="other@pve")
    admin.access.acl.put(path="/pool/perm", roles="PVEVMAdmin", users="perm@pve")
    own = ProxmoxAPI("127.0.0.1", port=lab.port, user="perm@pve", password="secret-1",
                     verify_ssl=str(lab.cert))
    mine = own.access.permissions.get()
    assert mine["/pool/perm"]["VM.Config.Disk"] == 1 and "/" not in mine
    assert own.access.permissions.get(path="/pool/perm") == {"/pool/perm": mine["/pool/perm"]}
    assert own.access.permissions.get(path="/storage") == {}
    assert admin.access.permissions.get(userid="perm@pve") == mine
    refused = fails(lambda: own.access.permissions.get(userid="other@pve"))
    assert refused.status_code == 403 and "(/access, Sys.Audit)" in f"{refused} {refused.content}"
    bad = fails(lambda: own.access.permissions.get(userid="nobody"))
    assert bad.status_code == 400 and "value does not match the regex pattern" in str(bad.errors)


def test_a_password_at_creation_and_a_rootfs_update_of_its_own_volume_are_taken(
        lab: LabInstance, admin: ProxmoxAPI, create_ct: Callable[..., Any],
        make_vnets: Callable[..., dict[str, IPv4Network]], wait_task: Callable[..., dict[str, Any]],
        fails: Fails) -> None:
    nets = make_vnets("cli", "vcli", type="simple")
    short = fails(lambda: create_ct(VMID, "vcli", nets["vcli"], 10, start=0, password="four"))
    assert short.errors == {"password": "value must be at least 5 characters long"}
    _, upid = create_ct(VMID, "vcli", nets["vcli"], 10, start=0, password="secret-1")
    assert wait_task(admin, upid)["exitstatus"] == "OK"
    shadow = (lab.guests_root / f"{lab.prefix}{VMID}" / "upper" / "etc" / "shadow").read_text()
    root_hash = next(line.split(":")[1] for line in shadow.splitlines() if line.startswith("root:"))
    salt = root_hash.split("$")[2]
    again = subprocess.run(["openssl", "passwd", "-6", "-salt", salt, "-stdin"], input="secret-1",
                           capture_output=True, text=True, check=True).stdout.strip()
    assert root_hash == again  # root's password is the one given, stored only as its hash
    assert "secret-1" not in (lab.state_dir / "access.log").read_text()
    config = admin.nodes("pve1").lxc(VMID).config
    volume = str(config.get()["rootfs"]).split(",")[0]
    config.put(rootfs=f"{volume},mountoptions=noatime,size=8G")
    assert config.get()["rootfs"] == f"{volume},mountoptions=noatime,size=4G"
    other = fails(lambda: config.put(rootfs=f"lab-guests:{VMID}/vm-{VMID}-disk-1.raw"))
    assert other.status_code == 400 and "its own volume only" in str(other.errors)
    ro = fails(lambda: config.put(unprivileged=0))
    assert "unable to modify read-only option: 'unprivileged'" in str(ro.errors)
    assert config.get()["rootfs"] == f"{volume},mountoptions=noatime,size=4G"


def test_a_password_change_as_pve_allows_it(lab: LabInstance, admin: ProxmoxAPI, admin_token: ProxmoxAPI,
                                           fails: Fails) -> None:
    """`PUT /access/password`: root@pam changes anyone's, a user their own (confirming the old one),
    nobody with an API token; at least 8 characters."""
    admin.access.users.post(userid="pw@pve", password="first-pass")
    admin.access.users.post(userid="pw2@pve", password="first-pass")
    admin.access.password.put(userid="pw@pve", password="second-pass")
    own = ProxmoxAPI("127.0.0.1", port=lab.port, user="pw@pve", password="second-pass",
                     verify_ssl=str(lab.cert))
    unconfirmed = fails(lambda: own.access.password.put(userid="pw@pve", password="third-pass"))
    assert unconfirmed.errors == {"confirmation-password": "password is required to modify user"}
    own.access.password.put(userid="pw@pve", password="third-pass",
                            **{"confirmation-password": "second-pass"})
    ProxmoxAPI("127.0.0.1", port=lab.port, user="pw@pve", password="third-pass", verify_ssl=str(lab.cert))
    other = fails(lambda: own.access.password.put(userid="pw2@pve", password="third-pass",
                                                  **{"confirmation-password": "third-pass"}))
    assert other.status_code == 403
    token = fails(lambda: admin_token.access.password.put(userid="pw@pve", password="fourth-pass"))
    assert token.status_code == 403 and "URI '/access/password' not available with API token, need proper " \
        "ticket." in f"{token} {token.content}"
    short = fails(lambda: admin.access.password.put(userid="pw@pve", password="short"))
    assert short.errors == {"password": "value must be at least 8 characters long"}
