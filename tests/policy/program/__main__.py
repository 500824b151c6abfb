"""A Pulumi program declaring the partilha resources a test case lists (config `test:case`, a JSON
file of {kind, name, props}), so the policy pack can be run on them by the real engine."""

import json
from pathlib import Path

import pulumi

from partilha.proxmox.resources.access import Acl, ApiToken
from partilha.proxmox.resources.backup import BackupJob
from partilha.proxmox.resources.firewall import GuestFirewall, SecurityGroup
from partilha.proxmox.resources.guest import Guest
from partilha.proxmox.resources.ha import HaResource
from partilha.proxmox.resources.pool import Pool
from partilha.proxmox.resources.sdn import SdnVnet

KINDS = {k.__name__: k for k in (Acl, ApiToken, BackupJob, GuestFirewall, SecurityGroup, Guest,
                                 HaResource, Pool, SdnVnet)}

for declared in json.loads(Path(pulumi.Config("test").require("case")).read_text()):
    KINDS[declared["kind"]](declared["name"], **declared["props"])
