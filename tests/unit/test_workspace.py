"""Local state and secrets: a file backend and a passphrase generated once, private to root."""

from __future__ import annotations

import stat
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from partilha.errors import UserError
from partilha.workspace import CHECKOUT, Workspace, protected


def test_defaults_point_at_a_local_backend_and_a_private_passphrase(tmp_path: Path) -> None:
    env = Workspace(tmp_path).pulumi_env({"PATH": "/usr/bin"})
    assert env["PULUMI_BACKEND_URL"] == f"file://{tmp_path / '.partilha' / 'state'}"
    passphrase = Path(env["PULUMI_CONFIG_PASSPHRASE_FILE"])
    assert stat.S_IMODE(passphrase.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / ".partilha").stat().st_mode) == 0o700
    assert len(passphrase.read_text().strip()) >= 32
    assert env["PATH"].startswith(str(CHECKOUT / ".tools" / "bin"))  # the one checkout's tools
    assert env["PULUMI_SKIP_UPDATE_CHECK"] == "true"


def test_passphrase_is_generated_once(tmp_path: Path) -> None:
    first = Path(Workspace(tmp_path).pulumi_env({})["PULUMI_CONFIG_PASSPHRASE_FILE"]).read_text()
    second = Path(Workspace(tmp_path).pulumi_env({})["PULUMI_CONFIG_PASSPHRASE_FILE"]).read_text()
    assert first == second


def test_passphrase_made_once_and_whole_when_asked_concurrently(tmp_path: Path) -> None:
    """Stacks read side by side ask for it at once: one passphrase, never a half-written one."""
    start = threading.Barrier(8)

    def read(_: int) -> str:
        start.wait()
        return Workspace(tmp_path).passphrase_file().read_text()

    with ThreadPoolExecutor(8) as pool:
        passphrases = list(pool.map(read, range(8)))
    assert len(set(passphrases)) == 1 and len(passphrases[0].strip()) >= 32
    assert [p.name for p in (tmp_path / ".partilha").iterdir()] == ["passphrase"]


def test_production_settings_win_over_the_defaults(tmp_path: Path) -> None:
    env = Workspace(tmp_path).pulumi_env({"PULUMI_BACKEND_URL": "s3://state?endpoint=minio:9000",
                                          "PULUMI_CONFIG_PASSPHRASE": "from-vault"})
    assert env["PULUMI_BACKEND_URL"] == "s3://state?endpoint=minio:9000"
    assert "PULUMI_CONFIG_PASSPHRASE_FILE" not in env
    assert not (tmp_path / ".partilha" / "passphrase").exists()


def test_ssh_key_is_made_once_and_private(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    key = workspace.ssh_key(lab=True)
    assert key.stat().st_mode & 0o077 == 0
    assert key.with_suffix(".pub").read_text().startswith("ssh-ed25519 ")
    first = key.read_bytes()
    assert workspace.ssh_key(lab=True).read_bytes() == first


def test_ssh_key_made_once_when_asked_concurrently(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    with ThreadPoolExecutor(6) as pool:
        keys = list(pool.map(lambda _: workspace.ssh_key(lab=True).with_suffix(".pub").read_text(), range(6)))
    assert len(set(keys)) == 1
    assert keys[0] == workspace.ssh_key(lab=True).with_suffix(".pub").read_text()


def test_a_production_envs_key_is_the_operators_own_and_protected_by_a_passphrase(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARTILHA_SSH_KEY", raising=False)
    workspace = Workspace(tmp_path)
    with pytest.raises(UserError, match=r"no operator SSH key .*operator_ed25519 .*ssh-add"):
        workspace.ssh_key(lab=False)  # never made for a production env
    assert not (tmp_path / ".partilha" / "ssh" / "operator_ed25519").exists()
    lab_key = workspace.ssh_key(lab=True)
    assert not protected(lab_key)  # the lab's throwaway key has no passphrase
    monkeypatch.setenv("PARTILHA_SSH_KEY", str(lab_key))
    with pytest.raises(UserError, match="must be protected by a passphrase"):
        workspace.ssh_key(lab=False)
    mine = tmp_path / "mine"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "a passphrase", "-f", str(mine)], check=True)
    monkeypatch.setenv("PARTILHA_SSH_KEY", str(mine))
    assert protected(mine) and workspace.ssh_key(lab=False) == mine
