"""The partilha Pulumi program: one project, stacks `<env>-platform`, `<env>-shared` and
`<env>-<municipality slug>` (stack_settings.py says how a stack's config names its role and
inventory). The inventory is validated before any resource is declared. A stack imports only its
role's components: most stacks are municipalities', which never declare the platform's."""

import stack_settings

settings, inventory = stack_settings.load()
if settings.role == "platform":
    import platform_stack

    platform_stack.declare(settings, inventory)
else:
    import tenants

    tenants.declare(settings, inventory)
