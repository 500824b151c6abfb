"""Who may do what: per municipality a PVE user `<slug>@pve` and its privilege-separated API
token (its secret goes to the token store under `<env>-<slug>`, where that municipality's stack
reads it), granted only what making and running its guests needs, and only where they live.

Four roles, one per kind of ACL path, shared by every municipality (their privileges are the same;
what differs is the paths, which is where the isolation lies):

- PartilhaGuests on /pool/<slug>: create its pool (Pool.Allocate), make, configure, start, stop,
  migrate and destroy guests in it (VM.Allocate — on a new guest PVE checks it on the pool the
  create names —, VM.Config.*, VM.PowerMgmt, VM.Migrate, VM.Audit), set their firewall
  (VM.Config.Network);
- PartilhaNetwork on /sdn/zones/<zone>/<vnet>: put a NIC on its own VNet (SDN.Use), no other;
- PartilhaStorage on /storage/<guest storage>: allocate its guests' disks (Datastore.AllocateSpace);
- PartilhaTemplates on the template's storage: read the container template (Datastore.Audit,
  what PVE asks for to use a `vztmpl` volume), nothing else there.
QEMU services also get PVE's PVETemplateUser (VM.Clone, VM.Audit) on the template VM.

Both the user and the token get the ACL entries: a privilege-separated token holds only what both
hold. Cluster-wide things (SDN, storage definitions, backup jobs, HA) stay with the administrator.
"""

from __future__ import annotations

from typing import Any

import pulumi

from partilha.inventory import Inventory, PlacedGuest
from partilha.inventory.models import Tenant
from partilha.proxmox.resources.access import Acl, ApiToken, ExclusiveAcl, Role, User, acl_entry
from partilha.proxmox.template import LXC_TEMPLATE
from stack_settings import token_store_name

TOKENID = "partilha"
GUEST_PRIVS = ["Pool.Allocate", "Pool.Audit", "VM.Allocate", "VM.Audit", "VM.Config.CPU",
               "VM.Config.Disk", "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options",
               "VM.Migrate", "VM.PowerMgmt"]


class TenantRoles(pulumi.ComponentResource):
    def __init__(self, name: str, qemu: bool, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("partilha:platform:TenantRoles", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cloudinit = ["VM.Config.Cloudinit"] if qemu else []  # a clone's SSH keys and address
        self.guests = Role("role-guests", roleid="PartilhaGuests", privs=GUEST_PRIVS + cloudinit, opts=child)
        self.network = Role("role-network", roleid="PartilhaNetwork", privs=["SDN.Use"], opts=child)
        self.storage = Role("role-storage", roleid="PartilhaStorage", privs=["Datastore.AllocateSpace"],
                            opts=child)
        self.templates = Role("role-templates", roleid="PartilhaTemplates", privs=["Datastore.Audit"],
                              opts=child)
        self.register_outputs({})


class TenantAccess(pulumi.ComponentResource):
    token: pulumi.Output[dict[str, Any]]  # userid, tokenid (full), store_as — never the secret

    def __init__(self, name: str, *, env: str, tenant: Tenant, inventory: Inventory,
                 guests: list[PlacedGuest], pool: str, roles: TenantRoles, qemu_template: int | None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("partilha:platform:TenantAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        stack = f"{env}-{tenant.slug}"
        user = User(f"{tenant.slug}-user", userid=f"{tenant.slug}@pve",
                    comment=f"partilha: {tenant.name} (stack {stack})", opts=child)
        token = ApiToken(f"{tenant.slug}-token", userid=user.userid, tokenid=TOKENID,
                         store_as=token_store_name(env, tenant.slug), privsep=True,
                         comment=f"partilha: stack {stack}", opts=child)
        sites = {s.name: s.guest_storage for s in inventory.datacentre.sites}
        vnets = {g.vnet.id: g.vnet.zone for g in guests if g.vnet}
        grants: dict[str, tuple[str, pulumi.Output[str]]] = {
            "pool": (f"/pool/{pool}", roles.guests.roleid),
            "template": (f"/storage/{LXC_TEMPLATE.partition(':')[0]}", roles.templates.roleid),
            **{f"vnet-{vnet}": (f"/sdn/zones/{zone}/{vnet}", roles.network.roleid)
               for vnet, zone in sorted(vnets.items())},
            **{f"storage-{sid}": (f"/storage/{sid}", roles.storage.roleid)
               for sid in sorted({sites[g.site] for g in guests})}}
        qemu = any(g.spec.kind == "qemu" for g in guests)
        if qemu and qemu_template is not None:  # stack_settings requires it for QEMU services
            grants["template-vm"] = (f"/vms/{qemu_template}", pulumi.Output.from_input("PVETemplateUser"))
        acls = []
        for label, (path, roleid) in grants.items():
            acls += [Acl(f"{tenant.slug}-user-{label}", path=path, roleid=roleid, ugid=user.userid,
                         kind="user", opts=child),
                     Acl(f"{tenant.slug}-token-{label}", path=path, roleid=roleid, ugid=token.full_tokenid,
                         kind="token", opts=child)]
        # nothing else: a grant made behind the stack's back is revoked by the next `up`
        ExclusiveAcl(f"{tenant.slug}-acl-exclusive", ugids=[user.userid, token.full_tokenid],
                     entries=_entries(acls),
                     opts=pulumi.ResourceOptions(parent=self, depends_on=acls))
        self.token = pulumi.Output.all(user.userid, token.full_tokenid, token.store_as).apply(
            lambda out: {"userid": out[0], "tokenid": out[1], "store_as": out[2]})
        self.register_outputs({"token": self.token})


def _entries(acls: list[Acl]) -> pulumi.Output[list[str]]:
    """The entries the Acl resources make, as ExclusiveAcl lists them."""
    n = len(acls)
    fields = pulumi.Output.all(*(a.kind for a in acls), *(a.ugid for a in acls), *(a.path for a in acls),
                               *(a.roleid for a in acls))
    return fields.apply(lambda f: sorted(acl_entry(*e) for e in zip(f[:n], f[n:2 * n], f[2 * n:3 * n],
                                                                     f[3 * n:], strict=True)))

