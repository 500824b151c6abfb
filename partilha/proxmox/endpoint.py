"""Where a PVE API endpoint and its token come from: the environment (names shared with the
widely used bpg/proxmox Terraform provider) or the lab's credentials file. Read at run time, so no
secret is ever held by an object that Pulumi pickles into state.

    PROXMOX_VE_ENDPOINT   https://pve.example.pt:8006/
    PROXMOX_VE_API_TOKEN  user@realm!tokenid=secret
    PROXMOX_VE_CA_FILE    the CA (or self-signed certificate) to verify the API's TLS with
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from partilha.errors import UserError

ENDPOINT, TOKEN, CA_FILE = "PROXMOX_VE_ENDPOINT", "PROXMOX_VE_API_TOKEN", "PROXMOX_VE_CA_FILE"
_TOKEN = re.compile(r"(?P<user>[^\s!@]+@[A-Za-z][A-Za-z0-9.\-_]+)!(?P<name>[A-Za-z][A-Za-z0-9.\-_]+)"
                    r"=(?P<secret>\S+)")


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    user: str  # user@realm
    token_name: str
    token_secret: str = field(repr=False)
    ca_file: Path | None  # None: the system's CAs

    @property
    def token_id(self) -> str:
        return f"{self.user}!{self.token_name}"

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"


def from_env(env: Mapping[str, str] | None = None) -> Endpoint:
    """The endpoint the environment names; one clear error naming what is missing or wrong."""
    env = os.environ if env is None else env
    missing = [name for name in (ENDPOINT, TOKEN) if not env.get(name)]
    if missing:
        raise UserError(f"no Proxmox VE credentials: set {' and '.join(missing)} "
                        f"(or use the lab: `partilha lab up`)")
    url = urlsplit(env[ENDPOINT])
    if url.scheme != "https" or not url.hostname:
        raise UserError(f"{ENDPOINT}: expected https://HOST[:PORT]/, got {env[ENDPOINT]!r}")
    match = _TOKEN.fullmatch(env[TOKEN].strip())
    if match is None:
        raise UserError(f"{TOKEN}: expected USER@REALM!TOKENID=SECRET")
    ca = Path(env[CA_FILE]) if env.get(CA_FILE) else None
    if ca is not None and not ca.is_file():
        raise UserError(f"{CA_FILE}: {ca} is not a file")
    return Endpoint(url.hostname, url.port or 8006, match["user"], match["name"], match["secret"], ca)


def lab_env(credentials: Path, cert: Path) -> dict[str, str]:
    """The environment that points a PVE client at a lab instance with its admin token."""
    try:
        creds = json.loads(credentials.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"{credentials}: no lab credentials ({exc}); run `partilha lab up`") from None
    return {ENDPOINT: creds["url"], TOKEN: f"{creds['token_id']}={creds['token_secret']}",
            CA_FILE: str(cert)}
