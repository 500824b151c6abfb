"""Local state and secrets: a file backend and a passphrase generated once, private to root."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from partilha.workspace import Workspace


def test_defaults_point_at_a_local_backend_and_a_private_passphrase(tmp_path: Path) -> None:
    env = Workspace(tmp_path).pulumi_env({"PATH": "/usr/bin"})
    assert env["PULUMI_BACKEND_URL"] == f"file://{tmp_path / '.partilha' / 'state'}"
    passphrase = Path(env["PULUMI_CONFIG_PASSPHRASE_FILE"])
    assert stat.S_IMODE(passphrase.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / ".partilha").stat().st_mode) == 0o700
    assert len(passphrase.read_text().strip()) >= 32
    assert env["PATH"].startswith(str(tmp_path / ".tools" / "bin"))
    assert env["PULUMI_SKIP_UPDATE_CHECK"] == "true"


def test_passphrase_is_generated_once(tmp_path: Path) -> None:
    first = Path(Workspace(tmp_path).pulumi_env({})["PULUMI_CONFIG_PASSPHRASE_FILE"]).read_text()
    second = Path(Workspace(tmp_path).pulumi_env({})["PULUMI_CONFIG_PASSPHRASE_FILE"]).read_text()
    assert first == second


def test_production_settings_win_over_the_defaults(tmp_path: Path) -> None:
    env = Workspace(tmp_path).pulumi_env({"PULUMI_BACKEND_URL": "s3://state?endpoint=minio:9000",
                                          "PULUMI_CONFIG_PASSPHRASE": "from-vault"})
    assert env["PULUMI_BACKEND_URL"] == "s3://state?endpoint=minio:9000"
    assert "PULUMI_CONFIG_PASSPHRASE_FILE" not in env
    assert not (tmp_path / ".partilha" / "passphrase").exists()


def test_ssh_key_is_made_once_and_private(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    key = workspace.ssh_key()
    assert key.stat().st_mode & 0o077 == 0
    assert key.with_suffix(".pub").read_text().startswith("ssh-ed25519 ")
    first = key.read_bytes()
    assert workspace.ssh_key().read_bytes() == first


def test_ssh_key_made_once_when_asked_concurrently(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    with ThreadPoolExecutor(6) as pool:
        keys = list(pool.map(lambda _: workspace.ssh_key().with_suffix(".pub").read_text(), range(6)))
    assert len(set(keys)) == 1
    assert keys[0] == workspace.ssh_key().with_suffix(".pub").read_text()
