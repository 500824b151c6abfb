"""The policy pack over a stack's state as exported (`pulumi stack export`), without running the
program: the pack is started exactly as the engine starts it for `pulumi preview --policy-pack`
(`python -m pulumi.policy`, the stack's config in PULUMI_CONFIG), and handed every resource of
the state over pulumi-policy's own gRPC protocol (Analyze per resource, AnalyzeStack once), as
`pulumi policy analyze` does on Pulumi 3.229 and later.

The pinned CLI (3.163) has no `pulumi policy analyze`; when it does, `analyze` below becomes
`pulumi policy analyze --policy-pack policies --stack <stack> --json` and nothing else changes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from partilha.errors import UserError

SECRET_SIG = "4dabf18193072939515e22adb298388d"  # noqa: S105  # Pulumi's marker of a secret value
STARTUP = 60.0  # seconds for the pack to load and listen
CALL = 120.0  # seconds for one analysis call
LEVELS = {0: "advisory", 1: "mandatory", 2: "disabled", 3: "remediate"}


@dataclass(frozen=True)
class Diagnostic:
    rule: str
    level: str  # advisory, mandatory
    urn: str  # "" for the stack
    message: str


def analyze(pack: Path, stack: str, config: Mapping[str, str],
            resources: list[dict[str, Any]]) -> list[Diagnostic]:
    """The pack's findings on `resources` (a stack export's `deployment.resources`)."""
    env = {**os.environ, "PULUMI_CONFIG": json.dumps(dict(config)), "PULUMI_STACK": stack,
           "PULUMI_PROJECT": "partilha", "PULUMI_DRY_RUN": "false"}
    # the engine address is for the pack's log messages; the audit reads its stderr instead
    argv = [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(pack)]
    with subprocess.Popen(argv, cwd=pack, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:
        try:
            port = _port(proc, pack)
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                return _diagnostics(analyzer_pb2_grpc.AnalyzerStub(channel), resources)
        finally:
            proc.kill()


def _port(proc: subprocess.Popen[str], pack: Path) -> int:
    assert proc.stdout is not None and proc.stderr is not None
    line = proc.stdout.readline().strip()  # the pack prints its port once it listens
    if not line.isdigit():
        proc.kill()
        why = [t for t in proc.stderr.read().splitlines() if t.strip()][-1:] or ["it exited"]
        raise UserError(f"{pack}: the policy pack did not start: {why[0]}")
    return int(line)


def _diagnostics(stub: analyzer_pb2_grpc.AnalyzerStub, resources: list[dict[str, Any]]) -> list[Diagnostic]:
    found: list[analyzer_pb2.AnalyzeDiagnostic] = []
    analysed = []
    for r in resources:
        if r.get("type") == "pulumi:pulumi:Stack" or str(r.get("type", "")).startswith("pulumi:providers:"):
            continue
        properties = json_format.ParseDict(_plain(r.get("outputs") or {}), struct_pb2.Struct())
        name = str(r["urn"]).rsplit("::", 1)[1]
        analysed.append(analyzer_pb2.AnalyzerResource(type=r["type"], properties=properties, urn=r["urn"],
                                                      name=name, parent=r.get("parent", "")))
        found += stub.Analyze(analyzer_pb2.AnalyzeRequest(type=r["type"], properties=properties,
                                                          urn=r["urn"], name=name), timeout=CALL).diagnostics
    found += stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=analysed), timeout=CALL).diagnostics
    # the pack prefixes each finding with its rule's description: keep what the finding says
    return [Diagnostic(d.policyName, LEVELS.get(d.enforcementLevel, "advisory"), d.urn,
                       d.message.strip().splitlines()[-1].strip()) for d in found]


def _plain(value: Any) -> Any:
    """The state's values with every secret left out (never decrypted: no rule reads one)."""
    if isinstance(value, dict):
        if SECRET_SIG in value:
            return "[secret]"
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
