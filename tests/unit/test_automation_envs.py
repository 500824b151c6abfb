"""An env's stacks, their order, --only, and where their stack config comes from or is written."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from partilha.automation import envs, preflight, project
from partilha.errors import UserError
from partilha.inventory import InventoryError
from partilha.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
LAB_SLUGS = ["abrantes", "constancia", "ferreira-do-zezere"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throwaway PARTILHA_HOME, and a current directory with no Pulumi project of its own."""
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("PARTILHA_HOME", str(tmp_path / "home"))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    return tmp_path / "home"


def _config(path: Path) -> dict[str, str]:
    return dict(yaml.safe_load(path.read_text())["config"])


def test_a_generated_env_lives_under_partilha_home_with_a_config_per_stack(home: Path) -> None:
    env = envs.load_env("bench", ROOT / "inventories" / "lab", lab=True)
    assert env.generated and env.project == home / ".partilha" / "envs" / "bench"
    assert [s.name for s in env.stacks] == ["bench-platform", "bench-shared",
                                            *(f"bench-{slug}" for slug in LAB_SLUGS)]
    written = env.write_missing_config()
    assert len(written) == 5 and env.write_missing_config() == []  # in step: nothing to rewrite
    assert _config(env.config_file(env.stacks[0])) == {
        "partilha:env": "bench", "partilha:inventory": "inventories/lab", "partilha:lab": "true"}
    assert _config(env.config_file(env.stacks[2]))["partilha:tokenStore"] == "bench-abrantes"
    generated = yaml.safe_load((env.project / "Pulumi.yaml").read_text())
    assert generated["name"] == "partilha" and generated["main"] == str(ROOT / "stacks")
    assert generated["runtime"]["options"]["virtualenv"] == str(ROOT / ".venv")


def test_a_generated_env_remembers_its_inventory_and_follows_a_new_one(home: Path) -> None:
    envs.load_env("bench", ROOT / "inventories" / "lab", lab=True).write_missing_config()
    salted = home / ".partilha" / "envs" / "bench" / "Pulumi.bench-platform.yaml"
    salted.write_text(salted.read_text() + "encryptionsalt: v1:kept\n")  # Pulumi's own key survives
    assert envs.load_env("bench").inventory_path == "inventories/lab"
    env = envs.load_env("bench", ROOT / "inventories" / "medio-tejo")
    assert len(env.write_missing_config()) == 15  # 13 municipalities; all now name the new inventory
    assert _config(salted)["partilha:inventory"] == "inventories/medio-tejo"
    assert yaml.safe_load(salted.read_text())["encryptionsalt"] == "v1:kept"


def test_a_generated_env_is_a_production_env_unless_the_user_says_lab(home: Path) -> None:
    env = envs.load_env("prodcheck", ROOT / "inventories" / "medio-tejo")
    assert not env.lab
    env.write_missing_config()
    platform = env.stacks[0]
    assert "partilha:lab" not in _config(env.config_file(platform))
    with pytest.raises(UserError, match="no Proxmox VE credentials: set PROXMOX_VE_ENDPOINT and "
                                        "PROXMOX_VE_API_TOKEN"):  # never the local lab
        preflight.check(env, platform, env.config(platform), {})
    assert not envs.load_env("prodcheck").lab  # remembered as it was made
    with pytest.raises(UserError, match="--lab: env prodcheck was made as a production env"):
        envs.load_env("prodcheck", lab=True)
    made = envs.load_env("trial", ROOT / "inventories" / "medio-tejo", lab=True)
    made.write_missing_config()
    assert made.lab and envs.load_env("trial").lab
    assert all(_config(made.config_file(s))["partilha:lab"] == "true" for s in made.stacks)


def test_an_env_named_like_an_inventory_defaults_to_it(home: Path) -> None:
    assert envs.load_env("medio-tejo").inventory_path == "inventories/medio-tejo"
    with pytest.raises(UserError, match=r"env nowhere: no stack config \(Pulumi.nowhere-platform.yaml\)"):
        envs.load_env("nowhere")


def test_an_invalid_inventory_stops_before_anything_is_written(home: Path) -> None:
    with pytest.raises(InventoryError, match="duplicate"):
        envs.load_env("bad", ROOT / "tests" / "data" / "duplicate-slug")
    assert not (home / ".partilha" / "envs" / "bad").exists()


def test_committed_stack_config_in_the_current_project_is_used_as_it_is(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkout = tmp_path / "checkout"
    project.write_project(checkout)
    (checkout / "Pulumi.t-platform.yaml").write_text(
        "config:\n  partilha:inventory: inventories/lab\n  partilha:lab: 'true'\n  partilha:note: mine\n")
    monkeypatch.chdir(checkout)
    env = envs.load_env("t")
    assert not env.generated and env.lab and env.project == checkout
    assert [p.name for p in env.write_missing_config()] == [  # only what it lacks
        "Pulumi.t-shared.yaml", *(f"Pulumi.t-{slug}.yaml" for slug in LAB_SLUGS)]
    assert _config(checkout / "Pulumi.t-platform.yaml")["partilha:note"] == "mine"
    assert _config(checkout / "Pulumi.t-abrantes.yaml") == {  # the env's settings, its own token
        "partilha:lab": "true", "partilha:note": "mine", "partilha:env": "t",
        "partilha:inventory": "inventories/lab", "partilha:tokenStore": "t-abrantes"}
    assert env.plain_config(env.stacks[0]) == {
        "partilha:inventory": "inventories/lab", "partilha:lab": "true", "partilha:note": "mine"}
    (checkout / "Pulumi.t-shared.yaml").write_text("config:\n  partilha:proxmoxApiToken:\n    secure: v1:x\n")
    assert env.plain_config(env.stacks[1]) is None  # only Pulumi can decrypt it
    with pytest.raises(UserError, match=r"env t is set in Pulumi\.t-platform\.yaml to inventories/lab"):
        envs.load_env("t", ROOT / "inventories" / "medio-tejo")
    (checkout / "Pulumi.p-platform.yaml").write_text("config:\n  partilha:inventory: inventories/lab\n")
    with pytest.raises(UserError, match="--lab: env p is a production env"):
        envs.load_env("p", lab=True)


def test_only_selects_stacks_in_dependency_order(home: Path) -> None:
    env = envs.load_env("lab2", ROOT / "inventories" / "lab")
    assert [s.name for s in env.select(["shared", "constancia", "platform"])] == [
        "lab2-platform", "lab2-shared", "lab2-constancia"]
    assert env.select(["lab2-shared"]) == [envs.StackSpec("lab2", "shared")]
    with pytest.raises(UserError, match=r"--only lisboa: env lab2 has no such stack; .*abrantes, "
                                        r"constancia, ferreira-do-zezere"):
        env.select(["abrantes", "lisboa"])
    stages = envs.waves(env.select([]))
    assert [[s.short for s in wave] for wave in stages] == [["platform"], LAB_SLUGS, ["shared"]]


def test_env_names_are_stack_name_prefixes(home: Path) -> None:
    with pytest.raises(UserError, match="--env 'Lab_1'"):
        envs.load_env("Lab_1")


def test_preview_of_a_production_env_without_credentials_is_one_clear_error(tmp_path: Path) -> None:
    """The review's case: nothing exported, a generated env; never the lab's endpoint or token."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_VE_", "PULUMI_"))}
    (tmp_path / "home").mkdir()
    run = subprocess.run([str(ROOT / ".venv" / "bin" / "partilha"), "preview", "--env", "prodcheck",
                          "--inventory", str(ROOT / "inventories" / "medio-tejo"), "--only", "platform"],
                         cwd=tmp_path, env={**environ, "PARTILHA_HOME": str(tmp_path / "home")},
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert "PROXMOX_VE_ENDPOINT and PROXMOX_VE_API_TOKEN" in run.stderr
    assert "to create" not in run.stdout


def test_a_generated_env_stays_generated_when_run_from_its_own_folder(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = envs.load_env("trial", ROOT / "inventories" / "lab", lab=True)
    made.write_missing_config()
    monkeypatch.chdir(made.project)  # where plain `pulumi` runs for it
    again = envs.load_env("trial")
    assert again.generated and again.lab and again.project == made.project


def test_deploy_takes_the_env_up_made_never_a_guessed_inventory(tmp_path: Path) -> None:
    """A generated env remembers the inventory `up` was given: `deploy` of that env reads that
    env's stacks and inventory, not inventories/<env> (which does not even exist here)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_VE_", "PULUMI_"))}
    home = tmp_path / "home"
    home.mkdir()
    env = {**environ, "PARTILHA_HOME": str(home)}
    made = envs.load_env("trial", ROOT / "inventories" / "medio-tejo", lab=True,
                         workspace=Workspace(home))
    made.write_missing_config()
    run = subprocess.run([str(ROOT / ".venv" / "bin" / "partilha"), "deploy", "baseline", "--env", "trial"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert "inventories/trial" not in run.stderr  # what the guess would have read
    assert "stack trial-shared: cannot read its outputs" in run.stderr  # the env's own stacks


def test_a_municipality_gone_from_the_inventory_is_a_stack_to_destroy_first(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkout = tmp_path / "checkout"
    project.write_project(checkout)
    (checkout / "Pulumi.t-platform.yaml").write_text("config:\n  partilha:inventory: inventories/lab\n")
    monkeypatch.chdir(checkout)
    envs.load_env("t").write_missing_config()
    gone = {"partilha:env": "t", "partilha:inventory": "inventories/lab", "partilha:tokenStore": "t-sardoal"}
    (checkout / "Pulumi.t-sardoal.yaml").write_text(yaml.safe_dump({"config": gone}))
    other_env = {**gone, "partilha:env": "t-x", "partilha:tokenStore": "t-x-tomar"}
    (checkout / "Pulumi.t-x-tomar.yaml").write_text(yaml.safe_dump({"config": other_env}))
    env = envs.load_env("t")
    assert env.retired == (envs.StackSpec("t", "municipality", "sardoal", retired=True),)
    assert [s.name for s in env.select(["sardoal", "platform"])] == ["t-sardoal", "t-platform"]
    # before the platform, which drops its VNet, token and ACLs; with the municipalities in a destroy
    assert [[s.short for s in wave] for wave in envs.waves(env.select([]))] == [
        ["sardoal"], ["platform"], LAB_SLUGS, ["shared"]]
    assert [[s.short for s in wave] for wave in envs.waves(env.select([]), destroying=True)] == [
        ["shared"], ["sardoal", *LAB_SLUGS], ["platform"]]
