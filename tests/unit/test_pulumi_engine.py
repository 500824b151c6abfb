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
import yaml
from pulumi import automation as auto

from partilha.automation import engine
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
    for name in ("pulumi-language-python", "pulumi-language-python-exec", "pulumi-resource-pulumi-python"):
        assert (PULUMI.parent / name).is_file(), name
        assert (PULUMI.parent / name).stat().st_mode & 0o111, f"{name} is not executable"


def test_built_cli_analyzes_policy_packs_against_state() -> None:
    """`pulumi policy analyze` (v3.229 on) checks a stack's state without running the program."""
    out = subprocess.run([str(PULUMI), "policy", "analyze", "--help"], capture_output=True, text=True,
                         check=True)
    assert "--policy-pack" in out.stdout


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


POLICY_PACK = """
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy


def label_not_forbidden(args, report_violation):
    if args.props.get("label") == "forbidden":
        report_violation("label must not be 'forbidden'")


PolicyPack("toolchain-check", enforcement_level=EnforcementLevel.MANDATORY, policies=[
    ResourceValidationPolicy(name="label-not-forbidden", description="no forbidden label",
                             validate=label_not_forbidden),
])
"""

LABELLED_PROGRAM = """
import pulumi
from pulumi.dynamic import CreateResult, Resource, ResourceProvider


class Echo(ResourceProvider):
    def create(self, props):
        return CreateResult(id_="echo", outs=dict(props))


class Labelled(Resource):
    def __init__(self, name, label):
        super().__init__(Echo(), name, {"label": label})


Labelled("thing", pulumi.Config().require("label"))
"""


@pytest.mark.engine
def test_real_engine_runs_a_python_policy_pack_in_updates_and_on_state(
        pulumi_env: dict[str, str], tmp_path: Path) -> None:
    """The CLI runs a pulumi-policy pack through the Python language host beside it, during an
    update and with `policy analyze` on the stack's state; a mandatory violation fails both."""
    venv = {"name": "python", "options": {"virtualenv": str(ROOT / ".venv")}}
    pack, program = tmp_path / "pack", tmp_path / "program"
    for folder, source, settings_file, settings in (
            (pack, POLICY_PACK, "PulumiPolicy.yaml", {"runtime": venv}),
            (program, LABELLED_PROGRAM, "Pulumi.yaml", {"name": "labelled", "runtime": venv})):
        folder.mkdir()
        (folder / "__main__.py").write_text(source)
        (folder / settings_file).write_text(yaml.safe_dump(settings))

    def run(*args: str) -> tuple[int, str]:
        done = subprocess.run([str(PULUMI), *args, "--non-interactive"], cwd=program, env=pulumi_env,
                              capture_output=True, text=True, check=False, timeout=120)
        return done.returncode, done.stdout + done.stderr

    with_pack = ("--policy-pack", str(pack))
    assert run("stack", "init", "check")[0] == 0
    assert run("config", "set", "label", "fine")[0] == 0
    for args in (("up", "--yes", *with_pack), ("policy", "analyze", *with_pack)):
        code, output = run(*args)
        assert code == 0, output
    assert run("config", "set", "label", "forbidden")[0] == 0
    code, output = run("up", "--yes", *with_pack)
    assert code != 0 and "label must not be 'forbidden'" in output
    assert run("up", "--yes")[0] == 0
    code, output = run("policy", "analyze", *with_pack)
    assert code != 0 and "label must not be 'forbidden'" in output


@pytest.mark.engine
def test_a_removed_stack_leaves_no_file_in_the_file_backend(
        pulumi_env: dict[str, str], tmp_path: Path) -> None:
    """`pulumi stack rm` alone keeps the state of the stack it removes as `<stack>.json.bak` and its
    backups folder; engine.remove_stack leaves nothing of it, destroyed first or removed by force."""
    program = tmp_path / "program"
    program.mkdir()
    (program / "__main__.py").write_text(LABELLED_PROGRAM)
    (program / "Pulumi.yaml").write_text(yaml.safe_dump({"name": "labelled", "runtime": {
        "name": "python", "options": {"virtualenv": str(ROOT / ".venv")}}}))
    workspace = auto.LocalWorkspace(work_dir=str(program), env_vars=pulumi_env,
                                    pulumi_command=auto.PulumiCommand(str(PULUMI.parent.parent),
                                                                      skip_version_check=True))
    state = tmp_path / "state"

    def files(stack: str) -> list[str]:
        return [str(p.relative_to(state)) for p in state.rglob("*") if p.is_file() and stack in str(p)]

    for name in ("retired", "forgotten"):
        stack = auto.Stack.create(name, workspace)
        stack.set_config("label", auto.ConfigValue("fine"))
        stack.up(on_output=lambda _: None)
        assert f".pulumi/stacks/labelled/{name}.json.bak" in files(name)
    auto.Stack.select("retired", workspace).destroy(on_output=lambda _: None)
    engine.remove_stack(workspace, "retired")
    engine.remove_stack(workspace, "forgotten", force=True, keep_config=True)  # its resource still in it
    assert files("retired") == files("forgotten") == []
    assert not (program / "Pulumi.retired.yaml").exists() and (program / "Pulumi.forgotten.yaml").is_file()
