"""(d) Network isolation: the newest `partilha probe` matrix (probe.json), each guest pair with
something open, expected or not, as a row; the pairs where everything is filtered as expected
as one. A probe older than the limit, or one that did not probe every guest the inventory has
now, proves nothing."""

from __future__ import annotations

import json

from partilha.audit.freshness import Read
from partilha.audit.model import Evidence, Item, Status
from partilha.automation.envs import Env
from partilha.inventory import guests
from partilha.policy.rule import Control
from partilha.probe import report
from partilha.probe.outside import NOT_APPLICABLE
from partilha.probe.remote import Probe

# a row's verdict as evidence: outside rows with nowhere to try them from prove nothing either way
VERDICTS: dict[str, Status] = {"ok": "passed", NOT_APPLICABLE: "not applicable"}


def item(env: Env, controls: tuple[Control, ...], max_age_s: float) -> Item:
    path = env.workspace.reports(env.name) / "probe.json"
    read = Read.of(path, max_age_s)
    source = f"`partilha probe --env {env.name}` ({path})"
    title = "Guests reach each other only on declared flows (the probe matrix)"

    def made(*rows: Evidence) -> Item:
        return Item("probe", title, "network", True, controls, rows)

    if read is None:
        return made(Evidence(env.name, "not proven", "no probe results", source, 0.0))
    result = Probe.from_json(json.loads(path.read_text()))
    probed = {p.source for p in result.pairs} | {p.target for p in result.pairs}
    missing = sorted({g.name for g in guests(env.inventory)} - probed)
    if missing:
        return made(Evidence(env.name, "not proven", f"the probe did not try {', '.join(missing)}",
                             source, read.at))
    if read.stale:
        return made(Evidence(env.name, "not proven", read.stale, source, read.at))
    rows = [Evidence(f"{s} -> {t}", VERDICTS.get(verdict, "failed"),
                     f"expected open: {expected}; observed: {seen}", source, read.at)
            for s, t, expected, seen, verdict in report.rows(result)]
    rows.append(Evidence(env.name, "passed", f"every other pair of {len(probed)} guests filtered on ports "
                         f"{', '.join(map(str, result.ports))}, as expected", source, read.at))
    return made(*rows)
