"""Backup: every guest holding data is backed up often enough for its tier, at the other site too
when its tier asks for it, and kept as long as its tier says.

These rules run in the platform stack, which holds the backup jobs, and check them against every
tenant's guests of the inventory-derived plan (a municipality's token cannot touch cluster backup
jobs, so the guests' own stacks hold none): the facts of all stacks meet there.
"""

from collections.abc import Iterable

from partilha.calendar_event import CalendarEvent
from partilha.inventory import PlacedGuest
from partilha.inventory.models import Tier
from partilha.policy.facts import Facts
from partilha.policy.rule import Finding, Resource, StackRule

from .controls import ISO_BACKUP, ISO_ICT_CONTINUITY, NIS2_CONTINUITY, RGPD_RESTORE

DATA_HOLDING = ("internal", "personal")


def _holding(facts: Facts) -> Iterable[tuple[PlacedGuest, Tier | None]]:
    for guest in facts.guests:
        if guest.spec.data_class in DATA_HOLDING:
            tier = facts.inventory.backup.tiers.get(guest.spec.backup_tier or "")
            yield guest, tier


def _storage(facts: Facts, role: str) -> str | None:
    site = next((s.name for s in facts.inventory.datacentre.sites if s.role == role), None)
    return facts.inventory.backup.storages.get(site or "")


def _meets_rpo(job: Resource, tier: Tier) -> bool:
    gap = CalendarEvent.parse(str(job.props["schedule"])).longest_gap()
    return gap is not None and gap.total_seconds() <= tier.rpo_hours * 3600


def _jobs(resources: list[Resource], guest: PlacedGuest, storage: str | None) -> list[Resource]:
    return [r for r in resources if r.kind == "BackupJob" and r.props.get("storage") == storage
            and guest.vmid in [int(v) for v in r.props.get("vmids") or []]]


def _covered(resources: list[Resource], facts: Facts) -> Iterable[Finding]:
    for guest, tier in _holding(facts):
        if tier is None:
            yield Finding(None, f"guest {guest.name} holds {guest.spec.data_class} data and has no "
                                "backup tier", guest.name)
            continue
        storage = _storage(facts, "primary")
        if not any(_meets_rpo(job, tier) for job in _jobs(resources, guest, storage)):
            yield Finding(None, f"guest {guest.name} (vmid {guest.vmid}, tier {guest.spec.backup_tier}) "
                                f"is in no backup job to {storage} repeating at least every "
                                f"{tier.rpo_hours:g} h (its tier's RPO)", guest.name)


def _offsite(resources: list[Resource], facts: Facts) -> Iterable[Finding]:
    storage = _storage(facts, "dr")
    for guest, tier in _holding(facts):
        if tier is None or not tier.offsite:
            continue
        if storage is None or not any(_meets_rpo(job, tier) for job in _jobs(resources, guest, storage)):
            yield Finding(None, f"guest {guest.name} (tier {guest.spec.backup_tier}, offsite) has no "
                                f"backup job to the DR site's storage ({storage or 'none declared'}) "
                                f"repeating at least every {tier.rpo_hours:g} h", guest.name)


def _retention(resources: list[Resource], facts: Facts) -> Iterable[Finding]:
    for guest, tier in _holding(facts):
        if tier is None:
            continue
        wanted = {k.replace("_", "-"): n for k, n in tier.retention.model_dump().items() if n}
        for job in (r for r in resources if r.kind == "BackupJob"
                    and guest.vmid in [int(v) for v in r.props.get("vmids") or []]):
            kept = dict(job.props.get("prune_backups") or {})
            short = [f"{k} {int(kept.get(k, 0))} < {n}" for k, n in wanted.items() if int(kept.get(k, 0)) < n]
            if short:
                yield Finding(job, f"backup job {job.props.get('jobid')} keeps less than tier "
                                   f"{guest.spec.backup_tier} of guest {guest.name} needs: "
                                   f"{', '.join(short)}")


BACKUP_RULES = [
    StackRule(
        id="PTL-POL-BKP-01", title="Data-holding guests are backed up within their tier's RPO",
        description="Every guest holding internal or personal data is in a backup job to its primary "
                    "site's backup storage whose schedule never leaves more than the tier's RPO "
                    "between two runs.",
        severity="critical", enforcement="mandatory",
        rationale="Losing a guest must lose at most its tier's RPO of data. Checked in the platform "
                  "stack, which holds the jobs, against every tenant's guests of the plan.",
        remediation="Give the service a `backup_tier` (inventories/<dc>/services.yaml or the "
                    "catalogue) whose `schedule` repeats at least every `rpo_hours`; `partilha up "
                    "--only platform` adds the guest to the tier's job.",
        controls=(NIS2_CONTINUITY, ISO_BACKUP, RGPD_RESTORE, ISO_ICT_CONTINUITY),
        roles=frozenset({"platform"}), check=_covered),
    StackRule(
        id="PTL-POL-BKP-02", title="Offsite tiers have a copy at the other site",
        description="Every guest of a tier with `offsite: true` is also in a backup job, on a schedule "
                    "within the tier's RPO, to the DR site's backup storage.",
        severity="high", enforcement="mandatory",
        rationale="A site lost whole (fire, flood, power) must not take every copy with it. Checked "
                  "in the platform stack against the plan, as PTL-POL-BKP-01.",
        remediation="Declare a `dr` site with a backup storage (datacentre.yaml, backup.yaml "
                    "`storages`); the platform stack then makes the tier's `-offsite` job.",
        controls=(NIS2_CONTINUITY, ISO_BACKUP, ISO_ICT_CONTINUITY, RGPD_RESTORE),
        roles=frozenset({"platform"}), check=_offsite),
    StackRule(
        id="PTL-POL-BKP-03", title="Backups are kept as long as the tier says",
        description="Every backup job listing a guest keeps at least its tier's retention "
                    "(keep-last, -daily, -weekly, -monthly).",
        severity="high", enforcement="mandatory",
        rationale="A corruption noticed late can only be undone from a backup older than it; the "
                  "tier's retention is the minimum the CIM committed to.",
        remediation="Set the tier's `retention` in backup.yaml; `partilha up --only platform` sets the "
                    "jobs' prune-backups to it.",
        controls=(NIS2_CONTINUITY, ISO_BACKUP, RGPD_RESTORE),
        roles=frozenset({"platform"}), check=_retention),
]
