"""The rules of `policies/` as a pulumi_policy pack.

Each rule becomes one policy named by its ID (a ResourceValidationPolicy for a ResourceRule, a
StackValidationPolicy for a StackRule) with its enforcement level; its severity, primary
framework control, other controls (as tags) and remediation go along when the installed
pulumi_policy takes them (1.18 and later), so the same pack runs before and after that upgrade.

A finding an active waiver of the inventory covers is not reported by its rule: the advisory
policy PTL-POL-WAIVED reports it instead, with who waived it, why and until when. A finding whose
only waiver expired is reported by its rule, saying so.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

import pulumi_policy as pp

from partilha.policy import waivers
from partilha.policy.facts import Facts
from partilha.policy.rule import Finding, Resource, ResourceRule, Rule

PACK = "partilha"
WAIVED = "PTL-POL-WAIVED"


def _metadata(policy: type, rule: Rule) -> dict[str, Any]:
    """Severity, framework, tags and remediation for pulumi_policy versions that take them."""
    accepted = inspect.signature(policy).parameters
    wanted: dict[str, Callable[[], Any]] = {
        "severity": lambda: pp.Severity(rule.severity),  # type: ignore[attr-defined]
        "framework": lambda: pp.PolicyComplianceFramework(  # type: ignore[attr-defined]
            name=rule.primary.framework, reference=rule.primary.ref,
            specification=rule.primary.title),
        "tags": lambda: [c.tag for c in rule.controls[1:]],  # the primary one is the framework
        "remediation_steps": lambda: rule.remediation}
    return {key: make() for key, make in wanted.items() if key in accepted}


class Pack:
    """The rules, and the facts of the stack under analysis (loaded once, when first needed)."""

    def __init__(self, rules: list[Rule], facts: Callable[[], Facts] = Facts.from_engine) -> None:
        self.rules = rules
        self.facts = cache(facts)

    def policies(self) -> list[pp.Policy]:
        made: list[pp.Policy] = [self._policy(rule) for rule in self.rules if rule.roles]
        made.append(pp.StackValidationPolicy(
            name=WAIVED, description="Findings a documented waiver of the inventory lets through",
            validate=self._report_waived, enforcement_level=pp.EnforcementLevel.ADVISORY))
        return made

    def serve(self) -> None:
        pp.PolicyPack(PACK, self.policies(), enforcement_level=pp.EnforcementLevel.ADVISORY)

    def _policy(self, rule: Rule) -> pp.Policy:
        level = pp.EnforcementLevel(rule.enforcement)
        description = f"{rule.title}: {rule.description}"
        if isinstance(rule, ResourceRule):
            def validate_resource(args: pp.ResourceValidationArgs, report: pp.ReportViolation) -> None:
                resource = Resource.of(args.resource_type, args.name, args.urn, args.props)
                if resource is not None:
                    self._report(rule, [resource], report)

            return pp.ResourceValidationPolicy(name=rule.id, description=description,
                                               validate=validate_resource, enforcement_level=level,
                                               **_metadata(pp.ResourceValidationPolicy, rule))

        def validate_stack(args: pp.StackValidationArgs, report: pp.ReportViolation) -> None:
            self._report(rule, _resources(args), report)

        return pp.StackValidationPolicy(name=rule.id, description=description, validate=validate_stack,
                                        enforcement_level=level, **_metadata(pp.StackValidationPolicy, rule))

    def _findings(self, rule: Rule, resources: list[Resource]) -> Iterable[tuple[Finding, list[Any]]]:
        facts = self.facts()
        if facts.role not in rule.roles:
            return
        for finding in rule.findings(resources, facts):
            yield finding, waivers.covering(facts.inventory.waivers, rule.id, facts.stack,
                                            finding.name(facts.stack))

    def _report(self, rule: Rule, resources: list[Resource], report: pp.ReportViolation) -> None:
        today = self.facts().today
        for finding, covering in self._findings(rule, resources):
            if waivers.active(covering, today):
                continue
            expired = f" (waiver expired {covering[0].until.isoformat()})" if covering else ""
            report(finding.message + expired, finding.resource.urn if finding.resource else None)

    def _report_waived(self, args: pp.StackValidationArgs, report: pp.ReportViolation) -> None:
        resources, today = _resources(args), self.facts().today
        for rule in self.rules:
            for finding, covering in self._findings(rule, resources):
                waiver = waivers.active(covering, today)
                if waiver:
                    report(f"{rule.id}: {finding.message} — {waivers.describe(waiver)}",
                           finding.resource.urn if finding.resource else None)


def _resources(args: pp.StackValidationArgs) -> list[Resource]:
    found = (Resource.of(r.resource_type, r.name, r.urn, r.props) for r in args.resources)
    return [r for r in found if r is not None]
