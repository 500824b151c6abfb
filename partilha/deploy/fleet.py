"""A fleet: the hosts of one environment and how to reach them (known_hosts, operator key).

`partilha deploy` writes it to `<workdir>/fleet.json` and `partilha verify` and
`pytest tests/infra` read it back, so the deploy and its proof always share one host model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from partilha.deploy.hosts import Host
from partilha.errors import UserError

FLEET_FILE = "fleet.json"


@dataclass(frozen=True)
class Fleet:
    env: str
    hosts: tuple[Host, ...]
    known_hosts: Path  # the only host keys trusted; written by the lab or by the operator
    ssh_key: Path  # the operator's private key; its public half (.pub) goes to admin users

    @property
    def public_key(self) -> str:
        path = self.ssh_key.with_suffix(".pub")
        if not path.is_file():
            raise UserError(f"{path}: the operator's public key is missing (next to {self.ssh_key})")
        return path.read_text().strip()

    def select(self, limit: Sequence[str] = ()) -> Fleet:
        """The hosts named (by name, address or group) in `limit`; all without a limit."""
        if not limit:
            return self
        chosen: list[Host] = []
        for word in limit:
            found = [h for h in self.hosts if word in (h.name, h.address, *h.groups)]
            if not found:
                raise UserError(f"--limit {word}: no host, address or group of that name in the "
                                f"{self.env} fleet ({', '.join(h.name for h in self.hosts) or 'empty'})")
            chosen += [h for h in found if h not in chosen]
        return replace(self, hosts=tuple(h for h in self.hosts if h in chosen))

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if name in (host.name, host.address):
                return host
        raise UserError(f"no host {name!r} in the {self.env} fleet")

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"env": self.env, "known_hosts": str(self.known_hosts), "ssh_key": str(self.ssh_key),
                "hosts": [h.to_json() for h in self.hosts]}
        path.write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> Fleet:
        try:
            data = json.loads(path.read_text())
            return cls(env=data["env"], hosts=tuple(Host.from_json(h) for h in data["hosts"]),
                       known_hosts=Path(data["known_hosts"]), ssh_key=Path(data["ssh_key"]))
        except FileNotFoundError:
            raise UserError(f"{path}: no fleet file (run `partilha deploy` first, or pass one)") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise UserError(f"{path}: not a fleet file ({exc})") from None
