"""The partilha Pulumi program: one project, stacks `<env>-platform`, `<env>-shared` and
`<env>-<municipality slug>` (stack_settings.py says how a stack's config names its role and
inventory). The inventory is validated before any resource is declared."""

import platform_stack
import stack_settings
import tenants

settings, inventory = stack_settings.load()
if settings.role == "platform":
    platform_stack.declare(settings, inventory)
else:
    tenants.declare(settings, inventory)
