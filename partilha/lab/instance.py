"""One lab instance: its state directory, port and name prefix.

The user's lab lives in .partilha/lab on port 8006 with prefix "plab-"; tests start their
own instances (own directory, port and prefix) so they never touch it, and two instances can run
side by side. The settings are saved at `lab up` so later commands find the same instance.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from partilha.errors import UserError
from partilha.lab.machine import AptCache

# Bridges are <prefix><vnet id>: 6 + 8 characters fit Linux's 15-character interface names.
PREFIX = re.compile(r"[a-z][a-z0-9]{0,4}-")


@dataclass(frozen=True)
class LabInstance:
    state_dir: Path
    inventory: Path
    port: int = 8006
    prefix: str = "plab-"  # containers are <prefix><vmid>; bridges <prefix><vnet>
    # The guests' package cache (apt-cacher-ng); 0: derived from the API port, so two labs side
    # by side get two caches, and Debian's own apt-cacher-ng service (3142) is left alone.
    cache_port: int = 0
    # Opt-in: the inventory's PVE nodes as SSH-reachable hosts (partilha.lab.cluster.node_hosts)
    # whose root trusts this public key file; None: no node hosts (the API alone, as most tests
    # want: they boot in seconds without them).
    node_key: Path | None = None
    # The process the lab's package cache ends with (a test run's, partilha.lab.throwaway): killed
    # before it resets the lab, the next cache started on the machine ends that one. None: the
    # cache runs until `lab down`.
    owner: int | None = None

    def __post_init__(self) -> None:
        if not PREFIX.fullmatch(self.prefix):
            raise UserError(f"lab prefix {self.prefix!r} must be a letter, up to 4 letters or "
                            "digits and a hyphen (bridge names have 15 characters)")
        if not 1 <= self.port <= 65535:
            raise UserError(f"lab port {self.port} is outside 1..65535")
        if self.cache_port == 0:
            object.__setattr__(self, "cache_port", 10000 + self.port % 20000)
        try:
            self.package_cache  # noqa: B018 - AptCache checks the port against apt-cacher-ng's limit
        except ValueError as exc:
            raise UserError(f"lab package cache: {exc}") from None

    @property
    def package_cache(self) -> AptCache:
        """The guests' package cache (apt-cacher-ng) on `cache_port`."""
        return AptCache(self.state_dir, port=self.cache_port, owner=self.owner)

    @property
    def node_hosts(self) -> bool:
        return self.node_key is not None

    @property
    def db(self) -> Path:
        return self.state_dir / "state.sqlite"

    @property
    def cert(self) -> Path:
        return self.state_dir / "pve-ssl.pem"

    @property
    def key(self) -> Path:
        return self.state_dir / "pve-ssl.key"

    @property
    def fingerprint_file(self) -> Path:
        return self.state_dir / "pve-ssl.fingerprint"

    @property
    def credentials(self) -> Path:
        """root@pam's password and an admin API token, 0600."""
        return self.state_dir / "credentials.json"

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

    @property
    def guests_root(self) -> Path:
        """Where each guest keeps its writable layer and logs (partilha.lab.machine)."""
        return self.state_dir / "guests"

    @property
    def nft_table(self) -> str:
        """The instance's one nftables table (inet family)."""
        return "partilha_" + self.prefix.rstrip("-")

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "server.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "server.log"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/api2/json"

    def save(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}
        (self.state_dir / "instance.json").write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, state_dir: Path) -> LabInstance:
        saved = state_dir / "instance.json"
        if not saved.is_file():
            raise UserError(f"no lab in {state_dir} (run `partilha lab up` first)")
        data = json.loads(saved.read_text())
        node_key, owner = data.get("node_key"), data.get("owner")
        return cls(Path(data["state_dir"]), Path(data["inventory"]), int(data["port"]),
                   str(data["prefix"]), int(data.get("cache_port", 0)),
                   Path(node_key) if node_key else None, int(owner) if owner else None)
