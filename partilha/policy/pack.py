"""The rules of `policies/` as a pulumi_policy pack.

Each rule becomes one policy named by its ID (a ResourceValidationPolicy for a ResourceRule, a
StackValidationPolicy for a StackRule) with its enforcement level; its severity, primary
framework control, other controls (as tags) and remediation go along.

A finding an active waiver of the inventory covers is not reported by its rule: the advisory
policy PTL-POL-WAIVED reports it instead, with who waived it, why and until when. A finding whose
only waiver expired is reported by its rule, saying so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

import pulumi_policy.policy
from pulumi.runtime.proto.analyzer_pb2 import AnalyzerStackConfigureRequest
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyComplianceFramework,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from partilha.policy import waivers
from partilha.policy.facts import Facts
from partilha.policy.rule import Finding, Resource, ResourceRule, Rule

PACK = "partilha"
WAIVED = "PTL-POL-WAIVED"


def _metadata(rule: Rule) -> dict[str, Any]:
    """Severity, primary framework control, the other controls (as tags) and remediation."""
    return {"severity": Severity(rule.severity),
            "framework": PolicyComplianceFramework(name=rule.primary.framework,
                                                      reference=rule.primary.ref,
                                                      specification=rule.primary.title),
            "tags": [c.tag for c in rule.controls[1:]],  # the primary one is the framework
            "remediation_steps": rule.remediation}


class Pack:
    """The rules, and the facts of the stack under analysis (loaded once, when first needed)."""

    def __init__(self, rules: list[Rule], facts: Callable[[], Facts] = Facts.from_engine) -> None:
        self.rules = rules
        self.facts = cache(facts)

    def policies(self) -> list[Policy]:
        made: list[Policy] = [self._policy(rule) for rule in self.rules if rule.roles]
        made.append(StackValidationPolicy(
            name=WAIVED, description="Findings a documented waiver of the inventory lets through",
            validate=self._report_waived, enforcement_level=EnforcementLevel.ADVISORY))
        return made

    def serve(self) -> None:
        # PolicyPack serves an instance of the class of this name.
        pulumi_policy.policy._PolicyAnalyzerServicer = _StackServicer  # type: ignore[misc]
        PolicyPack(PACK, self.policies(), enforcement_level=EnforcementLevel.ADVISORY)

    def _policy(self, rule: Rule) -> Policy:
        level = EnforcementLevel(rule.enforcement)
        description = f"{rule.title}: {rule.description}"
        if isinstance(rule, ResourceRule):
            def validate_resource(args: ResourceValidationArgs, report: ReportViolation) -> None:
                resource = Resource.of(args.resource_type, args.name, args.urn, args.props)
                if resource is not None:
                    self._report(rule, [resource], report)

            return ResourceValidationPolicy(name=rule.id, description=description,
                                               validate=validate_resource, enforcement_level=level,
                                               **_metadata(rule))

        def validate_stack(args: StackValidationArgs, report: ReportViolation) -> None:
            self._report(rule, _resources(args), report)

        return StackValidationPolicy(name=rule.id, description=description, validate=validate_stack,
                                        enforcement_level=level, **_metadata(rule))

    def _findings(self, rule: Rule, resources: list[Resource]) -> Iterable[tuple[Finding, list[Any]]]:
        facts = self.facts()
        if facts.role not in rule.roles:
            return
        for finding in rule.findings(resources, facts):
            yield finding, waivers.covering(facts.inventory.waivers, rule.id, facts.stack,
                                            finding.name(facts.stack))

    def _report(self, rule: Rule, resources: list[Resource], report: ReportViolation) -> None:
        today = self.facts().today
        for finding, covering in self._findings(rule, resources):
            if waivers.active(covering, today):
                continue
            expired = f" (waiver expired {covering[0].until.isoformat()})" if covering else ""
            report(finding.message + expired, finding.resource.urn if finding.resource else None)

    def _report_waived(self, args: StackValidationArgs, report: ReportViolation) -> None:
        resources, today = _resources(args), self.facts().today
        for rule in self.rules:
            for finding, covering in self._findings(rule, resources):
                waiver = waivers.active(covering, today)
                if waiver:
                    report(f"{rule.id}: {finding.message} — {waivers.describe(waiver)}",
                           finding.resource.urn if finding.resource else None)


class _StackServicer(pulumi_policy.policy._PolicyAnalyzerServicer):
    """pulumi_policy's analyzer, also taking its stack, project and config from ConfigureStack.

    An engine that starts a pack through a language host (Pulumi 3.2xx) puts no PULUMI_STACK,
    PULUMI_PROJECT or PULUMI_CONFIG in the pack's environment: it sends them in the analyzer's
    ConfigureStack call, of which pulumi_policy keeps only the tags, while it sets the runtime up
    (before every analysis) from that environment alone. So the call's values go into the
    environment, as an engine that starts the pack itself passes them.
    """

    def ConfigureStack(self, request: AnalyzerStackConfigureRequest, _context: Any) -> Any:  # noqa: N802
        os.environ.update({
            "PULUMI_STACK": request.stack, "PULUMI_PROJECT": request.project,
            "PULUMI_DRY_RUN": "true" if request.dry_run else "false",
            "PULUMI_CONFIG": json.dumps(dict(request.config)),
            "PULUMI_CONFIG_SECRET_KEYS": json.dumps(list(request.config_secret_keys)),
            **({"PULUMI_ORGANIZATION": request.organization} if request.organization else {})})
        return super().ConfigureStack(request, _context)


def _resources(args: StackValidationArgs) -> list[Resource]:
    found = (Resource.of(r.resource_type, r.name, r.urn, r.props) for r in args.resources)
    return [r for r in found if r is not None]
