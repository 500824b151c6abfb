"""Where partilha keeps its local state, and the environment every Pulumi run gets.

Defaults: a file:// backend under .partilha/state and the passphrase secrets provider with a
passphrase generated once into .partilha/passphrase. Production sets PULUMI_BACKEND_URL (an
S3-compatible bucket, say) and its own secrets provider; those win over the defaults.

The operator's SSH key is root on every node and passwordless sudo on every guest. A lab env's is
made once without a passphrase (.partilha/ssh/id_ed25519); a production env's is the operator's
own, protected by a passphrase and held by ssh-agent ($PARTILHA_SSH_KEY, else
.partilha/ssh/operator_ed25519): partilha never makes it and refuses one without a passphrase.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from partilha.errors import UserError

# The repository partilha runs from: its program (stacks/), content (inventories/, deploys/,
# tests/infra/), .venv and .tools. The one repository root; state lives in a Workspace.
CHECKOUT = Path(__file__).resolve().parent.parent
KEY_VARIABLE = "PARTILHA_SSH_KEY"
PRODUCTION_KEY = "operator_ed25519"


def protected(key: Path) -> bool:
    """The private key file exists and cannot be read without its passphrase."""
    if not key.is_file():
        return False
    return subprocess.run(["ssh-keygen", "-y", "-P", "", "-f", str(key)], capture_output=True,
                          stdin=subprocess.DEVNULL, check=False).returncode != 0


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def find(cls) -> Workspace:
        """$PARTILHA_HOME (tests and benchmarks keep throwaway state there), else the checkout."""
        home = os.environ.get("PARTILHA_HOME")
        return cls(Path(home).resolve() if home else CHECKOUT)

    @property
    def private(self) -> Path:
        """.partilha/: state, passphrase, lab credentials; git-ignored, readable by root only."""
        path = self.root / ".partilha"
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    def reports(self, env: str) -> Path:
        """Where an env's reports go (verify, probe, audit, diagram), each command beside the others."""
        return self.private / "reports" / env

    @property
    def tools_bin(self) -> Path:
        """The pinned Pulumi CLI `make setup` put in the checkout."""
        return CHECKOUT / ".tools" / "bin"

    def ssh_key(self, lab: bool) -> Path:
        """The operator's SSH key for the guests and nodes of a lab env (`lab`) or a production
        env: its private key's path; the public key is beside it with .pub."""
        return self._lab_key() if lab else self._production_key()

    def _production_key(self) -> Path:
        key = Path(os.environ.get(KEY_VARIABLE) or self.private / "ssh" / PRODUCTION_KEY)
        if not key.is_file() or not key.with_suffix(".pub").is_file():
            raise UserError(f"no operator SSH key {key} (with {key.name}.pub) for a production env: "
                            f"make one protected by a passphrase (`ssh-keygen -t ed25519 -f {key}`) "
                            f"and hold it in ssh-agent (`ssh-add {key}`), or point {KEY_VARIABLE} at yours")
        if not protected(key):
            raise UserError(f"{key}: a production env's operator key must be protected by a passphrase "
                            f"(`ssh-keygen -p -f {key}`) and held in ssh-agent (`ssh-add {key}`)")
        return key

    def _lab_key(self) -> Path:
        """Made once with ssh-keygen, without a passphrase: the lab's throwaway guests only."""
        folder = self.private / "ssh"
        folder.mkdir(mode=0o700, exist_ok=True)
        key = folder / "id_ed25519"
        # Stacks running side by side may all ask at once: one makes it, the others wait.
        with (folder / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not key.exists():
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "partilha",
                                "-f", str(key)], check=True)
        return key

    def passphrase_file(self) -> Path:
        path = self.private / "passphrase"
        if not path.exists():
            # written whole under a private name, then linked: stacks read side by side never see
            # it half-written, and the first of two runs making it at once wins
            draft = path.with_name(f".passphrase-{os.getpid()}-{threading.get_ident()}")
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "w") as out:
                    out.write(secrets.token_urlsafe(32) + "\n")
                with contextlib.suppress(FileExistsError):
                    os.link(draft, path)
            finally:
                draft.unlink()
        return path

    def pulumi_env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """Variables for the Pulumi CLI and Automation API; never reaches Pulumi Cloud."""
        base = dict(os.environ if base is None else base)
        env = {
            "PATH": f"{self.tools_bin}{os.pathsep}{base.get('PATH', '')}",
            "PULUMI_HOME": str(self.private / "pulumi-home"),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            # The pinned Python language host (v3.163) starts policy packs without `python -u`:
            # buffered, a pack never hands the engine its port and `--policy-pack` hangs.
            "PYTHONUNBUFFERED": "1",
            "PULUMI_BACKEND_URL": base.get("PULUMI_BACKEND_URL")
            or f"file://{self.private / 'state'}",
        }
        (self.private / "state").mkdir(exist_ok=True)
        if not base.get("PULUMI_CONFIG_PASSPHRASE") and not base.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
            env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(self.passphrase_file())
        return env
