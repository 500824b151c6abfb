"""The verdicts on an archive before a restore: the sha256 the vzdump hook recorded against the
archive now (altered, replaced, not recorded), and PBS's verification state as PVE's content
listing gives it (the lab has no PBS storage, so its listing is given here as PVE answers it)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from partilha.dr.checksum import pbs_verdict, sha256_verdict

HOOK = Path(__file__).resolve().parents[2] / "backup" / "hooks" / "vzdump-partilha"
NAME = "vzdump-lxc-10302-2026_12_05-10_00_00.tar.zst"


def hook_line(folder: Path, content: bytes) -> str:
    """What the hook writes at backup-end for an archive holding `content`."""
    archive = folder / NAME
    archive.write_bytes(content)
    done = subprocess.run([str(HOOK), "backup-end", "snapshot", "10302"], env={
        "PATH": "/usr/bin:/bin", "TARGET": str(archive), "DUMPDIR": str(folder), "VMTYPE": "lxc"},
        capture_output=True, text=True, check=True)
    assert f"sha256 of {NAME} recorded" in done.stdout
    return (folder / f"{NAME}.sha256").read_text()


def test_the_recorded_sha256_holds_for_the_same_archive_and_names_any_other(tmp_path: Path) -> None:
    recorded = hook_line(tmp_path, b"archive")
    assert sha256_verdict(NAME, recorded, hashlib.sha256(b"archive").hexdigest()).verdict == "ok"
    altered = sha256_verdict(NAME, recorded, hashlib.sha256(b"archivf").hexdigest())
    assert altered.verdict == "mismatch" and "altered or replaced" in altered.why
    assert sha256_verdict("vzdump-lxc-1-x.tar.zst", recorded, "0" * 64).verdict == "mismatch"
    missing = sha256_verdict(NAME, None, "0" * 64)
    assert missing.verdict == "missing" and "PTL-HV-11" in missing.why


def test_pbs_verification_state_is_read_from_the_content_listing() -> None:
    entry = {"volid": "pbs:backup/ct/10302/2026-12-05T10:00:00Z", "format": "pbs-ct", "ctime": 1,
             "verification": {"state": "ok", "upid": "UPID:pbs:..."}}
    assert pbs_verdict(entry).verdict == "ok"
    assert pbs_verdict({**entry, "verification": {"state": "failed"}}).why == "PBS verification failed"
    assert pbs_verdict({k: v for k, v in entry.items() if k != "verification"}).verdict == "missing"
