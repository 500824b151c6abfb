"""Driving partilha's Pulumi stacks through the Automation API: `partilha up | preview | refresh |
destroy`.

- project: the Pulumi project (Pulumi.yaml and the stack config files) and what runs it;
- envs: the environment object: its inventory, lab flag, stacks (platform, shared, one per
  municipality), their order, config and credentials;
- preflight: the credentials and endpoint a stack will use, checked before it runs;
- policy_gate: the policy pack (policies/) previewed before `up` writes anything, and its results;
- steps: what the engine's events say happened to each resource (pure);
- operation: an operation (up, preview, ...) run over the stacks wave by wave; progress: that
  shown as it happens (rich);
- summary: the table of guests that exist; drift: what `refresh` found changed.
"""
