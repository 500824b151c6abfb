"""The Pulumi CLI built by `make setup` is the pinned one and runs the partilha program."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

from partilha.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
PULUMI = ROOT / ".tools" / "bin" / "pulumi"


def sdk_pin() -> str:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (pin,) = [d.split("==")[1] for d in deps if re.match(r"pulumi\s*==", d)]
    return pin


def test_cli_pin_in_go_module_equals_sdk_pin() -> None:
    go_mod = (ROOT / "tools" / "pulumi" / "go.mod").read_text()
    for module in ("pkg", "sdk"):
        assert re.search(rf"^\s+github.com/pulumi/pulumi/{module}/v3 v{re.escape(sdk_pin())}( //.*)?$",
                         go_mod, re.MULTILINE), module
    assert version("pulumi") == sdk_pin()


def test_built_cli_reports_the_pin() -> None:
    out = subprocess.run([str(PULUMI), "version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"v{sdk_pin()}"


def test_language_host_and_helpers_sit_beside_the_cli() -> None:
    for name in ("pulumi-language-python", "pulumi-language-python-exec",
                 "pulumi-resource-pulumi-python", "pulumi-analyzer-policy-python"):
        assert (PULUMI.parent / name).is_file(), name
        assert (PULUMI.parent / name).stat().st_mode & 0o111, f"{name} is not executable"


@pytest.fixture
def pulumi_env(tmp_path: Path) -> dict[str, str]:
    """partilha's Pulumi environment with a throwaway backend and passphrase."""
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("test-only\n")
    base = {"PATH": "/usr/bin:/bin", "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE_FILE": str(passphrase)}
    (tmp_path / "state").mkdir()
    env = Workspace(ROOT).pulumi_env(base)
    env["HOME"] = str(tmp_path)
    return {**base, **env}


def pulumi(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PULUMI), *args, "--non-interactive"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=check, timeout=300)


@pytest.mark.engine
def test_real_engine_previews_the_platform_stack_on_a_local_backend(pulumi_env: dict[str, str]) -> None:
    """`pulumi preview` of a platform stack runs the program and starts the dynamic providers
    from the checkout's venv; a preview of creates makes no API call."""
    stack = "test-platform"
    try:
        pulumi(pulumi_env, "stack", "init", stack)
        for key, value in (("env", "test"), ("inventory", "inventories/lab")):
            pulumi(pulumi_env, "config", "set", f"partilha:{key}", value, "-s", stack)
        preview = json.loads(pulumi(pulumi_env, "preview", "--json", "-s", stack).stdout)
        types = [s["urn"].split("::")[2].rsplit("$", 1)[-1] for s in preview["steps"]
                 if s["op"] == "create"]  # a URN's type is the parent chain joined by $
        kinds = {t.rsplit(":", 1)[1] for t in types if t.startswith("pulumi-python:dynamic/proxmox:")}
        assert {"SdnZone", "SdnVnet", "SdnApply", "Role", "ApiToken", "Acl", "BackupJob",
                "HaGroup", "Storage"} <= kinds
        state = Path(pulumi_env["PULUMI_BACKEND_URL"].removeprefix("file://"))
        assert list(state.rglob(f"{stack}.json")), "state must be in the file backend"
    finally:
        pulumi(pulumi_env, "stack", "rm", "--yes", "--force", "-s", stack, check=False)
        (ROOT / f"Pulumi.{stack}.yaml").unlink(missing_ok=True)


@pytest.mark.engine
def test_invalid_inventory_stops_the_program_with_the_validation_error(
        pulumi_env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(ROOT / "inventories" / "lab", broken)
    networks = broken / "networks.yaml"
    networks.write_text(networks.read_text().replace("gateway: 10.101.0.1", "gateway: 10.9.0.1"))
    stack = "test-invalid"
    try:
        pulumi(pulumi_env, "stack", "init", stack)
        pulumi(pulumi_env, "config", "set", "partilha:inventory", str(broken), "-s", stack)
        result = pulumi(pulumi_env, "preview", "-s", stack, check=False)
        assert result.returncode != 0
        assert "networks.yaml" in result.stdout and "gateway" in result.stdout
        assert "Traceback" not in result.stdout
    finally:
        pulumi(pulumi_env, "stack", "rm", "--yes", "--force", "-s", stack, check=False)
        (ROOT / f"Pulumi.{stack}.yaml").unlink(missing_ok=True)
