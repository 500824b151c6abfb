"""Stack outputs made of many resources' outputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi


def by_key(values: Mapping[str, pulumi.Input[Any]]) -> pulumi.Output[dict[str, Any]]:
    """{key: output} -> an output of {key: value} (an empty mapping stays a mapping)."""
    if not values:
        return pulumi.Output.from_input({})
    gathered: pulumi.Output[dict[str, Any]] = pulumi.Output.all(**values)
    return gathered.apply(dict)
