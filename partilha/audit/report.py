"""The audit as an auditor files it: audit.json, audit.md and audit.html (one static page: no
script, no CDN, no remote font). At the top, per framework, how many of its controls passed,
failed, are not applicable or not proven; then regulation -> control -> the rules and tests that
prove it; then each rule or test with its evidence rows (resource or host, what was seen, the
command or API call, when)."""

from __future__ import annotations

import html
import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from partilha.audit.model import FRAMEWORKS, STATUSES, Status, fold, framework_of
from partilha.audit.run import Audit
from partilha.dr.times import when


def verdict(audit: Audit) -> Status:
    if audit.failed:
        return "failed"
    return "not proven" if audit.unproven else "passed"


def tree(audit: Audit) -> dict[str, list[dict[str, Any]]]:
    """framework -> its controls (ref, title, status, the items proving it), in ref order."""
    found: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in FRAMEWORKS}
    for item in audit.items:
        for control in item.controls:
            framework = framework_of(control)
            if framework is None:
                continue
            entry = found[framework].setdefault(control.ref, {"ref": control.ref, "title": control.title,
                                                              "framework": control.framework, "items": []})
            if item.id not in entry["items"]:
                entry["items"].append(item.id)
    status = {i.id: i.status for i in audit.items}
    return {name: [{**c, "status": fold(status[i] for i in c["items"])}
                   for c in sorted(controls.values(), key=lambda c: _ref_key(c["ref"]))]
            for name, controls in found.items()}


def _ref_key(ref: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", ref)]


def summary(audit: Audit) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for name, controls in tree(audit).items():
        counts[name] = dict.fromkeys(STATUSES, 0)
        for c in controls:
            counts[name][c["status"]] += 1
    return counts


def as_json(audit: Audit) -> dict[str, Any]:
    return {"env": audit.env, "inventory": audit.inventory, "started": when(audit.started),
            "finished": when(audit.finished), "verdict": verdict(audit), "summary": summary(audit),
            "seconds_per_source": {k: round(v, 1) for k, v in audit.seconds.items()},
            "frameworks": tree(audit),
            "items": [{"id": i.id, "title": i.title, "kind": i.kind, "mandatory": i.mandatory,
                       "status": i.status, "controls": [c.tag for c in i.controls],
                       "evidence": [{**asdict(e), "at": when(e.at) if e.at else None} for e in i.evidence]}
                      for i in audit.items],
            "waivers": audit.waivers}


def _cell(text: str) -> str:
    return " ".join(str(text).replace("|", "\\|").split())


def markdown(audit: Audit) -> str:
    counts = summary(audit)
    lines = [f"# partilha audit: env {audit.env}", "",
             f"Inventory `{audit.inventory}`, {when(audit.started)} to {when(audit.finished)}: "
             f"**{verdict(audit)}**.", "",
             "| framework | " + " | ".join(STATUSES) + " |", "|---|" + "---|" * len(STATUSES)]
    lines += [f"| {name} | " + " | ".join(str(c[s]) for s in STATUSES) + " |" for name, c in counts.items()]
    for name, controls in tree(audit).items():
        lines += ["", f"## {name}", ""]
        for c in controls:
            lines.append(f"- **{c['framework']} {c['ref']}** ({c['title']}): {c['status']} — "
                         + ", ".join(f"[{i}](#{i.lower()})" for i in c["items"]))
    lines += ["", "## Rules and tests", ""]
    for i in audit.items:
        level = "mandatory" if i.mandatory else "advisory"
        lines += [f"### {i.id}", "", f"{i.title} ({i.kind}, {level}): **{i.status}**", "",
                  "| resource or host | status | evidence | source | at |", "|---|---|---|---|---|"]
        lines += [f"| {_cell(e.subject)} | {e.status} | {_cell(e.detail)} | {_cell(e.source)} | "
                  f"{when(e.at) if e.at else '—'} |" for e in i.evidence]
        if not i.evidence:
            lines.append("| — | not applicable | nothing in scope | — | — |")
        lines.append("")
    lines += ["## Waivers", ""]
    lines += [f"- {w['rule']} on {w['resource']}" + (f" (stack {w['stack']})" if w["stack"] else "")
              + f": {w['who']}, until {w['until']} ({'in force' if w['in_force'] else 'EXPIRED'}): {w['why']}"
              for w in audit.waivers] or ["None."]
    return "\n".join(lines) + "\n"


STYLE = ("body{font-family:sans-serif;max-width:80em;margin:2em auto;padding:0 1em}"
         "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #999;padding:.25em .4em;"
         "vertical-align:top;text-align:left}.passed{background:#e6f4e6}.failed{background:#fbdada}"
         ".not-proven{background:#fff2cc}.not-applicable{background:#eee}code{font-size:90%}")


def page(audit: Audit) -> str:
    e = html.escape
    counts = summary(audit)

    def css(status: str) -> str:
        return status.replace(" ", "-")

    head = "".join(f"<th>{e(s)}</th>" for s in STATUSES)
    rows = "".join(
        f"<tr><th>{e(name)}</th>" + "".join(
            f"<td class='count {css(s)}' data-framework='{e(name)}' data-status='{e(s)}'>{c[s]}</td>"
            for s in STATUSES) + "</tr>" for name, c in counts.items())
    frameworks = "".join(
        f"<h2>{e(name)}</h2><ul>" + "".join(
            f"<li class='{css(c['status'])}'><strong>{e(c['framework'])} {e(c['ref'])}</strong> "
            f"({e(c['title'])}): {e(c['status'])} — "
            + ", ".join(f"<a href='#{e(i)}'>{e(i)}</a>" for i in c["items"]) + "</li>" for c in controls)
        + "</ul>" for name, controls in tree(audit).items())
    items = []
    for i in audit.items:
        evidence = "".join(
            f"<tr class='{css(x.status)}'><td>{e(x.subject)}</td><td>{e(x.status)}</td><td>{e(x.detail)}</td>"
            f"<td><code>{e(x.source.replace('`', ''))}</code></td>"
            f"<td>{e(when(x.at) if x.at else '—')}</td></tr>"
            for x in i.evidence) or "<tr class='not-applicable'><td colspan='5'>nothing in scope</td></tr>"
        items.append(f"<h3 id='{e(i.id)}'>{e(i.id)}: {e(i.title)}</h3><p>{e(i.kind)}, "
                     f"{'mandatory' if i.mandatory else 'advisory'}: <strong class='{css(i.status)}'>"
                     f"{e(i.status)}</strong></p><table><tr><th>resource or host</th><th>status</th>"
                     f"<th>evidence</th><th>source</th><th>at</th></tr>{evidence}</table>")
    waivers = "".join(
        f"<li>{e(w['rule'])} on {e(w['resource'])}: {e(w['who'])}, until {e(w['until'])} "
        f"({'in force' if w['in_force'] else 'EXPIRED'}): {e(w['why'])}</li>"
        for w in audit.waivers) or "<li>None.</li>"
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>partilha audit: "
            f"{e(audit.env)}</title><style>{STYLE}</style></head><body>"
            f"<h1>partilha audit: env {e(audit.env)}</h1><p>Inventory <code>{e(audit.inventory)}</code>, "
            f"{e(when(audit.started))} to {e(when(audit.finished))}: <strong id='verdict' "
            f"class='{css(verdict(audit))}'>{e(verdict(audit))}</strong></p>"
            f"<table id='summary'><tr><th>framework</th>{head}</tr>{rows}</table>{frameworks}"
            f"<h2>Rules and tests</h2>{''.join(items)}<h2>Waivers</h2><ul>{waivers}</ul></body></html>\n")


def write(audit: Audit, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"json": folder / "audit.json", "md": folder / "audit.md", "html": folder / "audit.html"}
    paths["json"].write_text(json.dumps(as_json(audit), indent=1, ensure_ascii=False) + "\n")
    paths["md"].write_text(markdown(audit))
    paths["html"].write_text(page(audit))
    return paths

