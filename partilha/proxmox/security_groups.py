"""The names of the platform's firewall security groups, which the tenant stacks reference and
the policy pack checks: one per catalogue service, and one for SSH."""

from __future__ import annotations

import hashlib

GROUP_NAME_MAX = 18  # PVE's limit for a security group name
SSH_GROUP = "partilha-ssh"


def group_name(service: str) -> str:
    """`svc-<service>`, shortened with a digest when PVE's 18 characters do not hold it."""
    name = f"svc-{service}"
    if len(name) <= GROUP_NAME_MAX:
        return name
    digest = hashlib.sha256(service.encode()).hexdigest()[:4]
    return f"{name[:GROUP_NAME_MAX - 5]}-{digest}"
