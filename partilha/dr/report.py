"""A run's report, from its journal: each step's timing, result and checks; the RTO achieved
(disaster declared to service verified) and the RPO achieved (age of each restored backup at the
disaster) against the tier's targets. Markdown, JSON and one static HTML page (no script, no CDN).

The runbook records what the figures need in its facts: `targets` ({"tier", "rto_s", "rpo_s"})
and `restored` (per guest: "guest", "archive", "backup_at" (epoch), "skipped" archives and why;
a many-guest runbook adds its "tier", "rto_target_s" and "rpo_target_s", "verified_at" (epoch:
that guest's service verified) and "data" (its data digest's verdict)). Per guest, the RTO
achieved runs from the disaster to that guest verified (the run's end when the runbook does not
say); per tier, the worst of its guests. verify-backups records `backups` instead (per guest and
site: its archive's "backup_at", "recoverable" ...): its RPO is the oldest of them at the run's start."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from partilha.dr.journal import Journal
from partilha.dr.times import when

Log = Callable[[str], None]


def _span(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 3600:.2f} h" if seconds >= 7200 else f"{seconds / 60:.1f} min"


def _yes(value: bool | None) -> str:
    return {True: "ok", False: "FAILED", None: "—"}[value]


def _seconds(backup: dict[str, Any]) -> str:
    """A verified backup's seconds, and how much of them the parts it reached took."""
    parts = [f"{k.removesuffix('_s')} {backup[k]:.0f}" for k in ("restore_s", "boot_s", "checks_s")
             if backup.get(k) is not None]
    return f"{backup['seconds']:.0f}" + (f" ({', '.join(parts)})" if parts else "")


def _met(achieved: float | None, target: float | None) -> bool | None:
    return None if achieved is None or target is None else achieved <= target


def _worst(values: list[float | None]) -> float | None:
    return None if not values or None in values else max(v for v in values if v is not None)


def _tiers(restored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per tier (the strictest first): its guests, and the worst RTO and RPO achieved among them."""
    tiers: dict[str, list[dict[str, Any]]] = {}
    for r in restored:
        if r.get("tier"):
            tiers.setdefault(str(r["tier"]), []).append(r)
    out = []
    for tier, mine in sorted(tiers.items(), key=lambda t: t[1][0].get("rto_target_s") or 0):
        rto, rpo = _worst([r["rto_s"] for r in mine]), _worst([r["rpo_s"] for r in mine])
        out.append({"tier": tier, "guests": [r["guest"] for r in mine], "rto_s": rto, "rpo_s": rpo,
                    "rto_target_s": mine[0].get("rto_target_s"), "rpo_target_s": mine[0].get("rpo_target_s"),
                    "rto_met": _met(rto, mine[0].get("rto_target_s")),
                    "rpo_met": _met(rpo, mine[0].get("rpo_target_s"))})
    return out


def _against(achieved: float | None, target: float | None, met: bool | None) -> str:
    """'12.3 s (target 2.00 h: met)', or the figure alone without a target."""
    if not target:
        return _span(achieved)
    verdict = {True: "met", False: "MISSED", None: "no target"}[met]
    return f"{_span(achieved)} (target {_span(target)}: {verdict})"


def figures(journal: Journal) -> dict[str, Any]:
    done = journal.outcome == "succeeded"
    verified = journal.steps[-1].finished if done and journal.steps else None
    targets = dict(journal.facts.get("targets") or {})
    rto = None if verified is None else verified - journal.disaster_at
    restored = []
    for r in journal.facts.get("restored") or []:
        at = r.get("verified_at") or verified
        entry = {**r, "rpo_s": _age(journal, r["backup_at"]),
                 "rto_s": None if at is None else at - journal.disaster_at}
        restored.append(entry | {"rto_met": _met(entry["rto_s"], r.get("rto_target_s")),
                                 "rpo_met": _met(entry["rpo_s"], r.get("rpo_target_s"))})
    backups = list(journal.facts.get("backups") or [])  # verify-backups: per guest and site
    # a drill's RPO: what restoring its backups at the run's start would have lost (a backup that
    # does not restore achieves none)
    rpo = _worst([r["rpo_s"] for r in restored]
                 + [_age(journal, b["backup_at"]) if b["recoverable"] else None for b in backups])
    return {"disaster_at": journal.disaster_at, "disaster_source": journal.disaster_source,
            "verified_at": verified, "rto_s": rto, "rto_target_s": targets.get("rto_s"),
            "rto_met": _met(rto, targets.get("rto_s")), "rpo_s": rpo,
            "rpo_target_s": targets.get("rpo_s"), "rpo_met": _met(rpo, targets.get("rpo_s")),
            "tier": targets.get("tier"), "restored": restored, "tiers": _tiers(restored), "backups": backups}


def _age(journal: Journal, backup_at: float) -> float:
    """The RPO a backup achieves: its age at the disaster (a drill's: at the run's start)."""
    return journal.disaster_at - float(backup_at)


def summary(journal: Journal) -> str:
    f = figures(journal)

    def part(name: str, key: str) -> str:
        return f"{name} {_against(f[f'{key}_s'], f[f'{key}_target_s'], f[f'{key}_met'])}"

    return f"{part('RTO', 'rto')}, {part('RPO', 'rpo')}"


def _guest_line(r: dict[str, Any], quote: str) -> str:
    line = (f"{r['guest']}" + (f" ({r['tier']})" if r.get("tier") else "")
            + f": restored from {quote}{r['archive']}{quote} made {when(float(r['backup_at']))}, "
            f"RPO achieved {_against(r['rpo_s'], r.get('rpo_target_s'), r['rpo_met'])}")
    if r.get("verified_at"):
        line += f", RTO achieved {_against(r['rto_s'], r.get('rto_target_s'), r['rto_met'])}"
    return line + (f", data {r['data']}" if r.get("data") else "")


def _tier_line(t: dict[str, Any]) -> str:
    return (f"tier {t['tier']} ({', '.join(t['guests'])}): RTO achieved "
            f"{_against(t['rto_s'], t['rto_target_s'], t['rto_met'])}, RPO achieved "
            f"{_against(t['rpo_s'], t['rpo_target_s'], t['rpo_met'])}")


def markdown(journal: Journal) -> str:
    f = figures(journal)
    lines = [f"# dr run {journal.run_id}", "",
             f"Runbook `{journal.runbook}` {' '.join(journal.argv)} on env `{journal.env}`: "
             f"**{journal.outcome}**.", "",
             f"- Disaster declared: {when(journal.disaster_at)} ({journal.disaster_source})",
             f"- Service verified: {when(f['verified_at'])}",
             f"- {summary(journal)}" + (f"; tier {f['tier']}" if f["tier"] else ""), ""]
    for r in f["restored"]:
        lines.append(f"- {_guest_line(r, '`')}")
        lines += [f"  - skipped `{s['archive']}`: {s['why']}" for s in r.get("skipped", [])]
    lines += [f"- {_tier_line(t)}" for t in f["tiers"]]
    if f["backups"]:
        lines += ["| guest | site | archive age | checksum | boot | service | data | seconds | recoverable |",
                  "|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {b['guest']} | {b['site']} | {_span(b['age_s'])} | {b['checksum'] or '—'} | "
                  f"{_yes(b['boot'])} | {_yes(b['service'])} | {b['data'] or '—'} | {_seconds(b)} | "
                  f"{'yes' if b['recoverable'] else 'NO: ' + '; '.join(b['why'])} |" for b in f["backups"]]
    lines += ["", "| step | title | result | time | checks |", "|---|---|---|---|---|"]
    for s in journal.steps:
        result = s.error if s.state == "failed" else s.result
        lines.append(f"| {s.id} | {s.title} | {s.state}: {result} | {_span(s.seconds)} | "
                     f"{'; '.join(s.checks)} |")
    return "\n".join(lines) + "\n"


def page(journal: Journal) -> str:
    f = figures(journal)
    e = html.escape
    rows = "".join(
        f"<tr class='{e(s.state)}'><td>{e(s.id)}</td><td>{e(s.title)}</td><td>{e(s.state)}: "
        f"{e(s.error if s.state == 'failed' else s.result)}</td><td>{e(_span(s.seconds))}</td>"
        f"<td><ul>{''.join(f'<li>{e(c)}</li>' for c in s.checks)}</ul></td></tr>" for s in journal.steps)
    restored = "".join(
        f"<li>{e(_guest_line(r, ''))}"
        + "".join(f"<br>skipped <code>{e(s['archive'])}</code>: {e(s['why'])}" for s in r.get("skipped", []))
        + "</li>" for r in f["restored"]) + "".join(f"<li>{e(_tier_line(t))}</li>" for t in f["tiers"])
    backups = "".join(
        f"<tr class='{'done' if b['recoverable'] else 'failed'}'><td>{e(b['guest'])}</td>"
        f"<td>{e(b['site'])}</td>"
        f"<td>{e(_span(b['age_s']))}</td><td>{e(b['checksum'] or '—')}</td><td>{_yes(b['boot'])}</td>"
        f"<td>{_yes(b['service'])}</td><td>{e(b['data'] or '—')}</td><td>{_seconds(b)}</td>"
        f"<td>{e('yes' if b['recoverable'] else 'NO: ' + '; '.join(b['why']))}</td></tr>"
        for b in f["backups"])
    if backups:
        backups = ("<table><tr><th>guest</th><th>site</th><th>archive age</th><th>checksum</th><th>boot</th>"
                   f"<th>service</th><th>data</th><th>seconds</th><th>recoverable</th></tr>{backups}</table>")
    style = ("body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #999;padding:.3em;vertical-align:top}.failed{background:#fdd}"
             ".done{background:#efe}")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>dr run "
            f"{e(journal.run_id)}</title><style>{style}</style></head><body>"
            f"<h1>dr run {e(journal.run_id)}</h1><p>Runbook <code>{e(journal.runbook)} "
            f"{e(' '.join(journal.argv))}</code> on env <code>{e(journal.env)}</code>: "
            f"<strong>{e(journal.outcome)}</strong></p><p>Disaster declared {e(when(journal.disaster_at))} "
            f"({e(journal.disaster_source)}); service verified {e(when(f['verified_at']))}.</p>"
            f"<p><strong>{e(summary(journal))}</strong></p><ul>{restored}</ul>{backups}<table><tr><th>step</th>"
            f"<th>title</th><th>result</th><th>time</th><th>checks</th></tr>{rows}</table></body></html>\n")


def write(journal: Journal, folder: Path) -> tuple[Path, Path, Path]:
    """report.md, report.json and report.html in the run's folder."""
    md, js, page_path = folder / "report.md", folder / "report.json", folder / "report.html"
    md.write_text(markdown(journal))
    js.write_text(json.dumps({"journal": asdict(journal), "figures": figures(journal)}, indent=2,
                             ensure_ascii=False) + "\n")
    page_path.write_text(page(journal))
    return md, js, page_path
