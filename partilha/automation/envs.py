"""An environment's stacks: `<env>-platform`, `<env>-<slug>` per municipality and `<env>-shared`,
in the order they depend on each other, with the config each one runs with.

An environment whose stack config is in the project (Pulumi.lab-platform.yaml, ...: committed,
so plain `pulumi` works in the checkout) is used as it is; a stack config file it lacks (a new
municipality) is written there, to be committed. Any other environment is generated: its
Pulumi.yaml and stack config files live in .partilha/envs/<env>/, never in the checkout, and
name the inventory given with --inventory (default inventories/<env>).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from partilha.automation.project import CHECKOUT, project_dir, write_project
from partilha.errors import UserError
from partilha.inventory import Inventory, load_inventory
from partilha.workspace import Workspace

Role = Literal["platform", "shared", "municipality"]
ENV_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
INVENTORY, ENV, LAB, TOKEN_STORE = "partilha:inventory", "partilha:env", "partilha:lab", "partilha:tokenStore"


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

    @property
    def refreshes_first(self) -> bool:
        """The admin stacks read their resources back before `up`: PVE drops a purged guest from
        the backup jobs (platform) and HA resources (shared) that list it, behind their backs."""
        return self.role != "municipality"


@dataclass(frozen=True)
class Env:
    name: str
    project: Path  # holds Pulumi.yaml and the Pulumi.<stack>.yaml files
    inventory_path: str  # as the stack config names it: relative to the checkout, or absolute
    inventory: Inventory
    generated: bool
    # What every stack file partilha writes shares: the platform file's plain settings (endpoint,
    # `partilha:lab`, ...), or for a generated env `partilha:lab`, which makes the local lab the
    # fallback endpoint (PROXMOX_VE_ENDPOINT/_API_TOKEN in the environment win over it).
    shared_config: Mapping[str, str]

    @property
    def lab(self) -> bool:
        return self.shared_config.get(LAB, "").lower() == "true"

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


def load_env(name: str, inventory: Path | None = None, workspace: Workspace | None = None) -> Env:
    """The env, its inventory validated (InventoryError before anything else happens)."""
    if not ENV_NAME.fullmatch(name):
        raise UserError(f"--env {name!r}: lowercase letters, digits and single hyphens, starting "
                        "with a letter")
    project = project_dir()
    committed = project / f"Pulumi.{name}-platform.yaml"
    if committed.is_file():
        config = _read(committed).get("config") or {}
        named = config.get(INVENTORY)
        if not named:
            raise UserError(f"{committed}: no `{INVENTORY}` in its config")
        if inventory is not None and _absolute(_relative(inventory)) != _absolute(str(named)):
            raise UserError(f"--inventory {inventory}: env {name} is set in {committed.name} to "
                            f"{named}; use another --env for another inventory")
        shared = {k: str(v) for k, v in config.items()  # secrets are the platform's own
                  if k not in (ENV, INVENTORY, TOKEN_STORE) and not isinstance(v, dict)}
        return Env(name, project, str(named), load_inventory(_absolute(str(named))), False, shared)
    project = (workspace or Workspace.find()).private / "envs" / name
    saved = _read(project / committed.name).get("config", {}).get(INVENTORY)
    if inventory is not None:
        named = _relative(inventory)
    elif saved:
        named = str(saved)
    elif (CHECKOUT / "inventories" / name).is_dir():
        named = f"inventories/{name}"
    else:
        raise UserError(f"env {name}: no stack config ({committed.name}) and no inventories/{name}; "
                        "pass --inventory PATH")
    model = load_inventory(_absolute(named))
    write_project(project)
    return Env(name, project, named, model, True, {LAB: "true"})


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
