"""What a policy rule is: an ID, what it demands and why, the controls it implements, and the
check itself. Auditors read these fields (policies/README.md, `partilha policy rules`); pack.py
hands them to Pulumi's policy engine.

A rule checks either one resource at a time (ResourceRule: a resource of one partilha type, e.g.
every `Guest`) or a whole stack (StackRule: facts that only meet across resources, e.g. backup
jobs against the inventory's guests). Resources are told apart by their Pulumi type token,
`pulumi-python:dynamic/proxmox:<Kind>`, which each partilha resource class declares
(`class Guest(Resource, module="proxmox", name="Guest")`), never by guessing from properties.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from partilha.policy.facts import Facts, Role

Severity = Literal["low", "medium", "high", "critical"]
Enforcement = Literal["mandatory", "advisory"]
Framework = Literal["NIS2", "ISO/IEC 27001:2022", "RGPD", "CIS Debian 12", "dev-sec"]
TYPE_PREFIX = "pulumi-python:dynamic/proxmox:"


@dataclass(frozen=True)
class Control:
    """One control of one framework: `Control("NIS2", "art. 21(2)(c)", "business continuity ...")`."""

    framework: Framework
    ref: str
    title: str

    @property
    def tag(self) -> str:
        return f"{self.framework} {self.ref}"


@dataclass(frozen=True)
class Resource:
    """A resource as a rule sees it: its kind (`Guest`, `BackupJob`, ...), name and inputs."""

    kind: str
    name: str
    urn: str
    props: Mapping[str, Any]

    @classmethod
    def of(cls, resource_type: str, name: str, urn: str, props: Mapping[str, Any]) -> Resource | None:
        """None for anything that is not a partilha resource on Proxmox VE."""
        if not resource_type.startswith(TYPE_PREFIX):
            return None
        return cls(resource_type.removeprefix(TYPE_PREFIX), name, urn, props)


@dataclass(frozen=True)
class Finding:
    """A violation: the resource at fault, or for what a stack lacks (a guest's backup job) None
    and the `subject` it is about (the guest's name), and why."""

    resource: Resource | None
    message: str
    subject: str = ""

    def name(self, stack: str) -> str:
        """What results and waivers call it: the resource's name, else the subject, else the stack."""
        return self.resource.name if self.resource else self.subject or stack


@dataclass(frozen=True, kw_only=True)
class Rule:
    id: str  # PTL-POL-<AREA>-<nn>
    title: str
    description: str  # what it checks, one sentence
    severity: Severity
    enforcement: Enforcement
    rationale: str  # why, and for rules spanning stacks where the facts meet
    remediation: str
    controls: tuple[Control, ...]  # the first is the primary one
    roles: frozenset[Role]  # the stacks it runs in

    @property
    def primary(self) -> Control:
        return self.controls[0]

    def findings(self, resources: list[Resource], facts: Facts) -> Iterable[Finding]:
        """A rule with no stack to run in (`roles` empty) is checked before any stack runs, by
        `partilha up` (partilha.automation.policy_gate): its findings come from there."""
        return ()


@dataclass(frozen=True, kw_only=True)
class ResourceRule(Rule):
    kind: str  # the resource kind it checks
    check: Callable[[Resource, Facts], Iterable[str]]

    def findings(self, resources: list[Resource], facts: Facts) -> Iterable[Finding]:
        for resource in resources:
            if resource.kind == self.kind:
                yield from (Finding(resource, why) for why in self.check(resource, facts))


@dataclass(frozen=True, kw_only=True)
class StackRule(Rule):
    check: Callable[[list[Resource], Facts], Iterable[Finding]]

    def findings(self, resources: list[Resource], facts: Facts) -> Iterable[Finding]:
        return self.check(resources, facts)
