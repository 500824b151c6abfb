"""A guest's `.fw` file as pve-firewall writes and reads it (`format_rule`, `parse_fw_rule`): what
vzdump puts in an archive as `etc/vzdump/pct.fw` and a restore turns back into the guest's
firewall config.

    [OPTIONS]

    enable: 1
    policy_in: DROP

    [RULES]

    IN SSH(ACCEPT) -i net0 -source 10.0.0.0/24 -log nolog # admins
    |OUT ACCEPT -p tcp -dport 443
    GROUP webservers -i net0

    [IPSET ipfilter-net0] # the addresses the guest may send from

    10.0.0.5
    !10.0.0.6
"""

from __future__ import annotations

import shlex
from typing import Any

from partilha.lab.firewall import firewall_schema
from partilha.lab.firewall.firewall_addresses import Book
from partilha.lab.firewall.state import GuestFirewallConfig

# rule option flags in pve-firewall's order, and the rule keys they carry
_FLAGS = (("-i", "iface"), ("-source", "source"), ("-dest", "dest"), ("-p", "proto"),
          ("-dport", "dport"), ("-sport", "sport"), ("-icmp-type", "icmp-type"), ("-log", "log"))
_KEYS = dict(_FLAGS)


def render(conf: GuestFirewallConfig) -> str:
    """The file's text; empty when the guest has no firewall config (PVE has no file then)."""
    if not conf.options and not conf.rules and not conf.ipsets:
        return ""
    text = "[OPTIONS]\n\n" + "".join(f"{k}: {v}\n" for k, v in sorted(conf.options.items()))
    for name, entries in sorted(conf.ipsets.items()):
        comment = conf.ipset_comments.get(name)
        text += f"\n[IPSET {name}]{f' # {comment}' if comment else ''}\n\n" + "".join(
            _entry(e) + "\n" for e in entries)
    return text + "\n[RULES]\n\n" + "".join(_rule(r) + "\n" for r in conf.rules)


def _entry(entry: dict[str, Any]) -> str:
    raw = ("!" if int(entry.get("nomatch") or 0) else "") + str(entry["cidr"])
    comment = str(entry.get("comment") or "").strip()
    return raw + (f" # {comment}" if comment else "")


def _rule(rule: dict[str, Any]) -> str:
    raw = "|" if str(rule.get("enable", 1)) == "0" else ""
    raw += str(rule["type"]).upper()
    if rule["type"] == "group":
        raw += f" {rule['action']}"
    elif rule.get("macro"):
        raw += f" {rule['macro']}({rule['action']})"
    else:
        raw += f" {rule['action']}"
    for flag, key in _FLAGS:
        if rule.get(key) not in (None, ""):
            raw += f" {flag} {rule[key]}"
    comment = str(rule.get("comment") or "").strip()
    return raw + (f" # {comment}" if comment else "")


def parse(text: str, cluster: Book) -> GuestFirewallConfig:
    """The config the file holds; a line pve-firewall would refuse raises ValueError naming it.
    `cluster`: the cluster's IP sets and aliases, which the file's rules may name beside its own."""
    conf, section, rules = GuestFirewallConfig(), "", []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        head, _, comment = line.partition("#")
        head = head.strip()
        if head.startswith("[") and head.endswith("]"):
            section = head[1:-1].upper()
            if section.startswith("IPSET "):
                section = f"IPSET {head[7:-1].strip()}"
                conf.ipsets[section[6:]] = []
                if comment.strip():
                    conf.ipset_comments[section[6:]] = comment.strip()
        elif section.startswith("IPSET "):
            entry: dict[str, Any] = {"cidr": head.removeprefix("!")}
            if head.startswith("!"):
                entry["nomatch"] = 1
            if comment.strip():
                entry["comment"] = comment.strip()
            conf.ipsets[section[6:]].append(entry)
        elif section == "OPTIONS":
            key, sep, value = line.partition(":")
            if not sep:
                raise ValueError(f"line {number}: no option in {line!r}")
            value = value.strip()
            conf.options[key.strip()] = int(value) if value.isdigit() else value
        elif section == "RULES":
            rules.append((_parse_rule(line, number), number))
        else:
            raise ValueError(f"line {number}: {line!r} outside [OPTIONS], [IPSET name] or [RULES]")
    book = Book(cluster.ipsets, cluster.aliases, conf.ipsets)
    for rule, number in rules:
        try:
            firewall_schema.verify_rule(rule, "ct", book)
        except firewall_schema.RuleError as exc:
            raise ValueError(f"line {number}: {exc.message}") from None
        conf.rules.append(rule)
    return conf


def _parse_rule(line: str, number: int) -> dict[str, Any]:
    body, _, comment = line.partition("#")
    rule: dict[str, Any] = {}
    if body.startswith("|"):
        rule["enable"] = 0
        body = body[1:]
    words = shlex.split(body)
    if len(words) < 2:
        raise ValueError(f"line {number}: incomplete rule {line!r}")
    rule["type"], action = words[0].lower(), words[1]
    if "(" in action and action.endswith(")"):
        rule["macro"], _, action = action[:-1].partition("(")
    rule["action"] = action
    flags = words[2:]
    if len(flags) % 2:
        raise ValueError(f"line {number}: an option without a value in {line!r}")
    for flag, value in zip(flags[::2], flags[1::2], strict=True):
        if flag not in _KEYS:
            raise ValueError(f"line {number}: unknown rule option {flag!r}")
        rule[_KEYS[flag]] = value
    if comment.strip():
        rule["comment"] = comment.strip()
    rule.setdefault("enable", 1)
    return rule
