"""Providers whose inputs have one canonical form, the one `read_live` returns from PVE.

`check` stores that form as the resource's inputs, so a program that passes [102, 101], a zero
retention count or a float (Pulumi's wire numbers) diffs equal to the live object instead of
updating it on every `up`. While an input is still unknown (a preview), it is left as it is.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import CheckResult
from pulumi.runtime.rpc import UNKNOWN

from partilha.proxmox.resources.base import PROVIDER_KEY, Props, PveProvider


def _unknown(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_unknown(v) for v in value)
    return bool(value == UNKNOWN)


class NormalisedProvider(PveProvider):
    def normalise(self, props: Props) -> Props:
        """The inputs in the form the live object reads back in."""
        raise NotImplementedError

    def check(self, _olds: Props, news: Props) -> CheckResult:
        inputs = {k: v for k, v in news.items() if k != PROVIDER_KEY}
        if _unknown(inputs):
            return CheckResult(news, [])
        return CheckResult({**news, **self.normalise(inputs)}, [])
