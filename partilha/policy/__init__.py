"""Policy as code: the rule type the pack in `policies/` is written in (rule.py), the facts a rule
reads (facts.py), waivers (waivers.py), and the pulumi_policy pack made of them (pack.py)."""
