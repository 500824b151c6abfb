"""The pyinfra inventory file of a run: every host with its connection settings and its model.

Plain Python literals, so an operator can rerun the same thing by hand:
`pyinfra -y .partilha/deploy/lab/inventory.py partilha/deploy/dispatch.py` (which runs each
host's `deploy_files`). Deploy files read the host's model back with
`Host.from_json(host.data.partilha)`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from pprint import pformat
from typing import Any

from partilha.deploy.access import Login, through_agent
from partilha.deploy.fleet import Fleet
from partilha.deploy.hosts import Host


def deploy_name(path: Path) -> str:
    """"baseline", "services/portal": the path under deploys/, without .py."""
    parts = path.resolve().with_suffix("").parts
    return "/".join(parts[parts.index("deploys") + 1:]) if "deploys" in parts else path.stem


def host_data(host: Host, login: Login, fleet: Fleet, ssh_config: Path,
              deploy_files: Sequence[Path], agent: bool) -> dict[str, Any]:
    """`agent`: the operator's key has a passphrase, so pyinfra signs with ssh-agent, not the file."""
    key: dict[str, Any] = {"ssh_allow_agent": True} if agent else {
        "ssh_key": str(fleet.ssh_key), "ssh_allow_agent": False}
    return {
        "ssh_hostname": host.address,
        "ssh_user": login.user,
        **key,
        "ssh_known_hosts_file": str(fleet.known_hosts),
        "ssh_strict_host_key_checking": "yes",
        "ssh_config_file": str(ssh_config),  # not the operator's ~/.ssh/config
        "ssh_look_for_keys": False,
        "_sudo": login.sudo,
        "partilha": host.to_json(),
        "operator_keys": [fleet.public_key],
        "deploy_files": [[deploy_name(p), str(p.resolve())] for p in deploy_files],
    }


def render(fleet: Fleet, logins: Mapping[str, Login], ssh_config: Path,
           plan: Mapping[str, Sequence[Path]]) -> str:
    hosts = [h for h in fleet.hosts if h.name in logins]
    groups: dict[str, list[str]] = {}
    for host in hosts:
        for group in host.groups:
            groups.setdefault(group, []).append(host.name)
    lines = [f"# pyinfra inventory of the {fleet.env} fleet, written by partilha for one run", ""]
    agent = through_agent(fleet)
    entries = [(h.name, host_data(h, logins[h.name], fleet, ssh_config, plan[h.name], agent))
               for h in hosts]
    lines.append(f"all = {pformat(entries, width=100, sort_dicts=False)}")
    lines += [f"{group} = {names!r}" for group, names in groups.items()]
    return "\n".join(lines) + "\n"
