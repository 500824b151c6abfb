"""The environment object every command takes (`up`, `preview`, `refresh`, `destroy`, `deploy`,
`verify`, `ssh`; `load_env` makes it): its inventory, whether it is a lab env, its stacks
(`<env>-platform`, `<env>-<slug>` per municipality and `<env>-shared`, in the order they depend on
each other) with the config each one runs with, the endpoint and token each acts with, the lab it
talks to and where its hosts' keys are pinned. Its stacks' outputs are read by
partilha.deploy.stack_outputs, the one reader.

An environment whose stack config is in the project (a production env's committed
Pulumi.<env>-platform.yaml, ...) is used as it is; a stack config file it lacks (a new
municipality) is written there, to be committed. Any other environment is generated: its
Pulumi.yaml and stack config files live in .partilha/envs/<env>/, never in the checkout (Pulumi
writes a per-machine `encryptionsalt` into them), and name the inventory given with --inventory
(default inventories/<env>).

An env is a lab env only when the user says so: `partilha lab up` made it, or `--lab` when it was
first generated; committed config says so with `partilha:lab: "true"`. A lab env falls back to
the local lab's endpoint and token and gets the lab's allowances (SSH from each VNet's gateway,
where the lab's host sits); any other env needs real credentials and gets neither.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from partilha.automation.project import project_dir, write_project
from partilha.deploy.paths import workdir_for
from partilha.errors import UserError
from partilha.inventory import Inventory, load_inventory
from partilha.proxmox import credentials
from partilha.proxmox.credentials import LAB, TOKEN_STORE, is_lab
from partilha.proxmox.endpoint import CA_FILE, ENDPOINT, TOKEN, Endpoint
from partilha.workspace import CHECKOUT, Workspace

Role = Literal["platform", "shared", "municipality"]
ENV_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
INVENTORY, ENV = "partilha:inventory", "partilha:env"


@dataclass(frozen=True)
class StackSpec:
    env: str
    role: Role
    slug: str = ""  # the municipality's
    # A municipality no longer in the inventory whose stack config is still in the project: `up`
    # destroys its stack (guests first) before the platform drops its VNet, token and ACLs.
    retired: bool = False

    @property
    def name(self) -> str:
        return f"{self.env}-{self.slug or self.role}"

    @property
    def short(self) -> str:
        """What --only calls it: platform, shared or the slug."""
        return self.slug or self.role


@dataclass(frozen=True)
class Env:
    name: str
    project: Path  # holds Pulumi.yaml and the Pulumi.<stack>.yaml files
    inventory_path: str  # as the stack config names it: relative to the checkout, or absolute
    inventory: Inventory
    generated: bool
    # What every stack file partilha writes shares: the platform file's plain settings (endpoint,
    # `partilha:lab`, ...), or for a generated lab env `partilha:lab` alone.
    shared_config: Mapping[str, str]
    workspace: Workspace  # .partilha: state, keys, tokens, the local lab, deploy files

    @property
    def lab(self) -> bool:
        return _is_lab(self.shared_config)

    @property
    def workdir(self) -> Path:
        """.partilha/deploy/<env>/: the fleet file, ssh_config, pyinfra inventory and log."""
        return workdir_for(self.name, self.workspace)

    def lab_dir(self, environ: Mapping[str, str]) -> Path | None:
        """The state directory of the lab the env's stacks talk to, if they talk to one: the lab
        whose certificate PROXMOX_VE_CA_FILE names when an endpoint is exported, else the local
        lab for a lab env."""
        if environ.get(ENDPOINT):
            ca = Path(environ.get(CA_FILE, ""))
            return ca.parent if environ.get(CA_FILE) and (ca.parent / "instance.json").is_file() else None
        return self.workspace.private / "lab" if self.lab else None

    def known_hosts(self, environ: Mapping[str, str]) -> Path:
        """Where the env's hosts' SSH keys are pinned: by the lab that made them, else in the
        file the operator keeps beside the env's deploy files."""
        lab = self.lab_dir(environ)
        return lab / "known_hosts" if lab is not None else self.workdir / "known_hosts"

    def run_environ(self, stack: StackSpec, base: Mapping[str, str]) -> dict[str, str]:
        """The environment of the stack's Pulumi run: `base`, and for a municipality's stack an
        empty PROXMOX_VE_API_TOKEN, so an admin token the caller exported never reaches its
        providers (which also ignore it: partilha.proxmox.credentials)."""
        environ = dict(base)
        if stack.role == "municipality":
            environ[TOKEN] = ""
        return environ

    def endpoint(self, stack: StackSpec, config: Mapping[str, str], environ: Mapping[str, str]) -> Endpoint:
        """The API and token `stack` acts with, resolved as its providers will resolve them from its
        config (`config`: as Pulumi gives it, secrets decrypted) and the caller's environment."""
        return credentials.resolve(config, self.run_environ(stack, environ))

    def tenant_stack(self, tenant: str) -> StackSpec:
        """The stack holding a tenant's guests: the shared stack for the CIM's, else the
        municipality's own."""
        if tenant == self.inventory.shared.slug:
            return StackSpec(self.name, "shared")
        return StackSpec(self.name, "municipality", tenant)

    @property
    def stacks(self) -> tuple[StackSpec, ...]:
        return (StackSpec(self.name, "platform"), StackSpec(self.name, "shared"),
                *(StackSpec(self.name, "municipality", m.slug) for m in self.inventory.municipalities))

    @property
    def retired(self) -> tuple[StackSpec, ...]:
        """Municipality stacks of this env (by their config files) the inventory no longer has."""
        slugs = {m.slug for m in self.inventory.municipalities}
        return tuple(StackSpec(self.name, "municipality", slug, retired=True)
                     for slug in retired_slugs(self.project, self.name, slugs))

    def config_file(self, stack: StackSpec) -> Path:
        return self.project / f"Pulumi.{stack.name}.yaml"

    def config(self, stack: StackSpec) -> dict[str, str]:
        """The config a stack gets when partilha writes its file."""
        config = {**self.shared_config, ENV: self.name, INVENTORY: self.inventory_path}
        if stack.role == "municipality":
            config[TOKEN_STORE] = stack.name  # its own scoped token, never the admin's
        return config

    def plain_config(self, stack: StackSpec) -> dict[str, str] | None:
        """The stack's config as its file has it; None when it holds secrets (Pulumi decrypts)."""
        config = _read(self.config_file(stack)).get("config") or {}
        if any(isinstance(v, dict) for v in config.values()):
            return None
        return {k: str(v) for k, v in config.items()}

    def set_config_value(self, stack: StackSpec, key: str, value: str | None) -> None:
        """One plain value of the stack's config file set (None: removed), the rest kept."""
        path = self.config_file(stack)
        settings = _read(path)
        config = settings.setdefault("config", {})
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
        path.write_text(yaml.safe_dump(settings, sort_keys=False, allow_unicode=True))

    def select(self, only: list[str]) -> list[StackSpec]:
        """The stacks --only names (all without it), in dependency order."""
        every = (*self.retired, *self.stacks)
        if not only:
            return list(every)
        known = {s.short: s for s in every} | {s.name: s for s in every}
        unknown = [word for word in only if word not in known]
        if unknown:
            slugs = ", ".join(m.slug for m in self.inventory.municipalities)
            raise UserError(f"--only {unknown[0]}: env {self.name} has no such stack; choose platform, "
                            f"shared or a municipality of {self.inventory_path} ({slugs})")
        chosen = {known[word] for word in only}
        return [s for s in every if s in chosen]

    def write_missing_config(self) -> list[Path]:
        """Write the stack config files this env lacks (generated envs: keep them in step with
        the inventory given); the files written, to say so."""
        written = []
        for stack in self.stacks:
            path = self.config_file(stack)
            settings = _read(path)
            config = settings.setdefault("config", {})
            wanted = self.config(stack)
            if path.is_file() and (not self.generated or all(config.get(k) == v for k, v in wanted.items())):
                continue
            config.update(wanted)
            path.write_text(yaml.safe_dump(settings, sort_keys=False, allow_unicode=True))
            written.append(path)
        return written


def retired_slugs(project: Path, env: str, slugs: Collection[str]) -> list[str]:
    """The municipalities whose stack config (`Pulumi.<env>-<slug>.yaml`, with its token store) is
    in `project` though `slugs` no longer has them."""
    found = []
    for path in sorted(project.glob(f"Pulumi.{env}-*.yaml")):
        config = _read(path).get("config") or {}
        slug = path.name.removeprefix(f"Pulumi.{env}-").removesuffix(".yaml")
        if config.get(ENV) == env and config.get(TOKEN_STORE) and slug not in slugs:
            found.append(slug)
    return found


def waves(stacks: list[StackSpec], destroying: bool = False) -> list[list[StackSpec]]:
    """The platform (networks, pools, tokens), then the municipalities side by side (guests, with
    their own tokens), then shared: the CIM's services, and the HA membership of every tenant's
    guests, which needs the guests to exist and a privilege no municipality's token may have.
    Retired municipalities' stacks go first, while the platform still has their tokens; a
    destroy runs the waves in reverse, those with the other municipalities."""
    if destroying:
        order: tuple[Role, ...] = ("shared", "municipality", "platform")
        return [wave for role in order if (wave := [s for s in stacks if s.role == role])]
    retired = [s for s in stacks if s.retired]
    ordered = [[s for s in stacks if s.role == role and not s.retired]
               for role in ("platform", "municipality", "shared")]
    return [wave for wave in (retired, *ordered) if wave]


def load_env(name: str, inventory: Path | None = None, lab: bool = False,
             workspace: Workspace | None = None) -> Env:
    """The env, its inventory validated (InventoryError before anything else happens). `lab`:
    the user says it is a lab env (`--lab`); an env made as a production env never becomes one."""
    if not ENV_NAME.fullmatch(name):
        raise UserError(f"--env {name!r}: lowercase letters, digits and single hyphens, starting "
                        "with a letter")
    workspace = workspace or Workspace.find()
    project = project_dir()
    committed = project / f"Pulumi.{name}-platform.yaml"
    # (run from inside .partilha/envs/<env>, as plain `pulumi` is, the env is still a generated one)
    if committed.is_file() and not project.is_relative_to(workspace.private / "envs"):
        config = _read(committed).get("config") or {}
        named = config.get(INVENTORY)
        if not named:
            raise UserError(f"{committed}: no `{INVENTORY}` in its config")
        if inventory is not None and _absolute(_relative(inventory)) != _absolute(str(named)):
            raise UserError(f"--inventory {inventory}: env {name} is set in {committed.name} to "
                            f"{named}; use another --env for another inventory")
        shared = {k: str(v) for k, v in config.items()  # secrets are the platform's own
                  if k not in (ENV, INVENTORY, TOKEN_STORE) and not isinstance(v, dict)}
        if lab and not _is_lab(shared):
            raise UserError(f"--lab: env {name} is a production env ({committed} does not set "
                            f"`{LAB}: \"true\"`)")
        return Env(name, project, str(named), load_inventory(_absolute(str(named))), False, shared,
                   workspace)
    project = workspace.private / "envs" / name
    saved = _read(project / committed.name).get("config") or {}
    if saved and lab and not _is_lab(saved):
        raise UserError(f"--lab: env {name} was made as a production env ({project}); a lab env "
                        f"needs another --env (or, if env {name} holds nothing yet, remove {project})")
    if inventory is not None:
        named = _relative(inventory)
    elif saved.get(INVENTORY):
        named = str(saved[INVENTORY])
    elif (CHECKOUT / "inventories" / name).is_dir():
        named = f"inventories/{name}"
    else:
        raise UserError(f"env {name}: no stack config ({committed.name}) and no inventories/{name}; "
                        "pass --inventory PATH")
    model = load_inventory(_absolute(named))
    write_project(project)
    return Env(name, project, named, model, True, {LAB: "true"} if lab or _is_lab(saved) else {},
               workspace)


def _is_lab(config: Mapping[str, Any]) -> bool:
    return is_lab(config.get(LAB, ""))


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        return {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not YAML ({exc})") from None
    return data if isinstance(data, dict) else {}


def _relative(inventory: Path) -> str:
    """How stack config names an inventory: relative to the checkout when inside it."""
    path = inventory.resolve()
    return str(path.relative_to(CHECKOUT)) if path.is_relative_to(CHECKOUT) else str(path)


def _absolute(named: str) -> Path:
    return (CHECKOUT / named).resolve()
