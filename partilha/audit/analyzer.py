"""The policy pack over a stack's state as exported (`pulumi stack export`), without running the
program: `pulumi policy analyze --file <export> --policy-pack <pack> --json`.

Pulumi 3.260 starts the pack there with no ConfigureStack call and no stack in its environment,
so the stack, project and config go into the pulumi process's environment (PULUMI_STACK,
PULUMI_CONFIG ...), which the pack inherits. The analysis exits non-zero on a mandatory finding;
any other error is the pack's or the CLI's, and is reported as one line.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partilha.errors import UserError
from partilha.workspace import Workspace

TIMEOUT = 300  # seconds for one analysis
VIOLATIONS = "error: one or more mandatory policy violations were found"


@dataclass(frozen=True)
class Diagnostic:
    rule: str
    level: str  # advisory, mandatory
    urn: str  # "" for the stack
    message: str


def analyze(workspace: Workspace, pack: Path, stack: str, config: Mapping[str, str],
            state: Mapping[str, Any]) -> list[Diagnostic]:
    """The pack's findings on `state` (a stack export, secrets encrypted)."""
    env = {**workspace.pulumi_env(), "PULUMI_STACK": stack, "PULUMI_PROJECT": "partilha",
           "PULUMI_CONFIG": json.dumps(dict(config)), "PULUMI_DRY_RUN": "false"}
    with tempfile.TemporaryDirectory(prefix="partilha-analyze-") as tmp:
        exported = Path(tmp) / "state.json"
        exported.write_text(json.dumps(state))
        argv = [str(workspace.tools_bin / "pulumi"), "policy", "analyze", "--file", str(exported),
                "--policy-pack", str(pack), "--json", "--non-interactive"]
        try:
            proc = subprocess.run(argv, cwd=tmp, env=env, capture_output=True, text=True, timeout=TIMEOUT,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise UserError(f"stack {stack}: the policy analysis took over {TIMEOUT} s") from None
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    if proc.returncode != 0 and errors != [VIOLATIONS]:
        why = [e for e in errors if e != VIOLATIONS][-1:] or [f"pulumi exited {proc.returncode}"]
        raise UserError(f"stack {stack}: the policy analysis failed: {why[0].removeprefix('error: ')}")
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    # the pack prefixes each finding with its rule's description: keep what the finding says
    return [Diagnostic(e["policyName"], e.get("enforcementLevel", "advisory"), e.get("resourceUrn", ""),
                       e["message"].strip().splitlines()[-1].strip())
            for e in (event["policyEvent"] for event in events if "policyEvent" in event)]
