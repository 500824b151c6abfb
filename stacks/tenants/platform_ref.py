"""What a tenant stack takes from its env's platform stack, through a StackReference."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi


@dataclass(frozen=True)
class PlatformOutputs:
    stack: str
    pools: pulumi.Output[dict[str, str]]
    vnets: pulumi.Output[dict[str, dict[str, Any]]]
    security_groups: pulumi.Output[dict[str, str]]
    ssh_group: pulumi.Output[str]
    ha_groups: pulumi.Output[dict[str, str]]

    @classmethod
    def read(cls, stack: str) -> PlatformOutputs:
        """The file backend names stacks `organization/<project>/<stack>` (its organization is
        always "organization"); a service backend `<org>/<project>/<stack>`: both are this."""
        ref = pulumi.StackReference(f"{pulumi.get_organization()}/{pulumi.get_project()}/{stack}")
        return cls(stack, *(ref.require_output(name) for name in (
            "pools", "vnets", "security_groups", "ssh_group", "ha_groups")))

    def pick(self, output: pulumi.Output[dict[str, Any]], what: str, key: str) -> pulumi.Output[Any]:
        """`output[key]`, or an error saying the platform stack lacks it (run it first)."""
        def get(values: dict[str, Any]) -> Any:
            if key not in values:
                raise pulumi.RunError(f"stack {self.stack} exports no {what}[{key!r}]: bring the "
                                      f"platform up first (`partilha up --only platform`)")
            return values[key]

        return output.apply(get)

    def bridge(self, vnet: str) -> pulumi.Output[str]:
        """A VNet's bridge (its id) once the platform made and applied it."""
        return self.pick(self.vnets, "vnets", vnet).apply(lambda _: vnet)
