"""Where partilha keeps its local state, and the environment every Pulumi run gets.

Defaults: a file:// backend under .partilha/state and the passphrase secrets provider with a
passphrase generated once into .partilha/passphrase. Production sets PULUMI_BACKEND_URL (an
S3-compatible bucket, say) and its own secrets provider; those win over the defaults.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def find(cls, start: Path | None = None) -> Workspace:
        """The partilha checkout holding `start` (or $PARTILHA_HOME, or the current directory)."""
        if home := os.environ.get("PARTILHA_HOME"):
            return cls(Path(home).resolve())
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / "Pulumi.yaml").is_file() and (folder / "partilha").is_dir():
                return cls(folder)
        return cls(Path(__file__).resolve().parent.parent)

    @property
    def private(self) -> Path:
        """.partilha/: state, passphrase, lab credentials; git-ignored, readable by root only."""
        path = self.root / ".partilha"
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    @property
    def tools_bin(self) -> Path:
        return self.root / ".tools" / "bin"

    def ssh_key(self) -> Path:
        """The operator's SSH key for the guests and nodes partilha manages (private key path;
        the public key is beside it with .pub), made once with ssh-keygen."""
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
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(32) + "\n")
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
