"""Every validation rule, broken once.

Each folder tests/data/<case>/ is tests/data/valid/ with one thing broken: the files it changes are
real files, the others symlinks to ../valid/. Each test validates a copy of it in a temporary folder
(the loader refuses symlinks leading out of an inventory), and `partilha inventory validate` must
reject it with exactly one line naming the file, line and field.

Files that are not what they seem (FIFOs, devices, symlinks out of the folder, huge files) cannot be
committed as data: the tests after the table make them in temporary folders.

Every case runs the CLI's entry point (`partilha.cli:main`, what the console script calls) in this
process: as a subprocess each run costs a fresh interpreter and the inventory's imports, ninety times.
The console script itself runs as a subprocess for the valid inventories and a few cases, and must
print what the entry point printed here.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from partilha.cli import main

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
VALID = DATA / "valid"
PARTILHA = Path(sys.executable).parent / "partilha"
REFERENCE = sorted(path for path in (ROOT / "inventories").iterdir() if path.is_dir())
NO_COLOUR = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}

# case -> (file:line the problem names, field, part of the message)
CASES: dict[str, tuple[str, str, str]] = {
    # datacentre.yaml: sites, nodes, capacity
    "duplicate-node": ("datacentre.yaml:21", "datacentre.nodes[4].name", "duplicate node 'pve-dr1'"),
    # backup.yaml too: offsite copies need a dr site
    "two-primary-sites": ("datacentre.yaml:8", "datacentre.sites", "needs exactly one primary site, found 2"),
    # storage.yaml and backup.yaml too: the new site's storage
    "two-dr-sites": ("datacentre.yaml:8", "datacentre.sites", "at most one dr site, found 2"),
    "unknown-site": ("datacentre.yaml:21", "datacentre.nodes[4].site", "unknown site 'lisboa'"),
    "node-role-twice": ("datacentre.yaml:17", "datacentre.nodes[0].roles", "a role is listed twice"),
    "unknown-node-role": ("datacentre.yaml:17", "datacentre.nodes[0].roles[1]",
                          "'gpu': input should be 'compute'"),
    "site-without-compute-node": ("datacentre.yaml:12", "datacentre.sites[1]",
                                 "site 'dr' has no compute node"),
    "unknown-guest-storage": ("datacentre.yaml:11", "datacentre.sites[0].guest_storage",
                             "unknown storage 'lab-nowhere'"),
    "guest-storage-at-other-site": ("datacentre.yaml:15", "datacentre.sites[1].guest_storage",
                                   "storage 'lab-guests' is at site 'primary', not 'dr'"),
    "guest-storage-without-rootdir": ("datacentre.yaml:15", "datacentre.sites[1].guest_storage",
                                     "storage 'lab-backup-dr' does not hold 'rootdir'"),
    "site-memory-exceeded": ("datacentre.yaml:8", "datacentre.sites[0]",
                            "guests at 'primary' need 8192 MiB of memory, nodes have 6144"),
    "node-memory-exceeded": ("datacentre.yaml:8", "datacentre.sites[0]",
                            "guests placed on node 'pve3' need 2560 MiB of memory, it has 2048"),
    "site-cpus-exceeded": ("datacentre.yaml:8", "datacentre.sites[0]",
                          "guests at 'primary' need 15 CPUs, over 12"),
    "cpu-overcommit-too-high": ("datacentre.yaml:6", "datacentre.cpu_overcommit",
                               "64: input should be less than or equal to 32"),
    # rich markup in a value is printed as text
    "node-name-not-a-host-name": ("datacentre.yaml:17", "datacentre.nodes[0].name",
                                 "'pve1[/b]' is not a valid host name"),
    # services.yaml too: only eprocurement stays HA
    "ha-single-compute-node": ("municipalities.yaml:38", "shared.services.eprocurement",
                              "cim-medio-tejo-eprocurement is HA but site 'primary' has one compute node"),

    # storage.yaml
    "duplicate-storage": ("storage.yaml:30", "storage[4].id", "duplicate storage 'lab-backup-dr'"),
    "storage-unknown-node": ("storage.yaml:8", "storage[0].nodes[1]", "unknown node 'pve9'"),
    "storage-node-at-other-site": ("storage.yaml:8", "storage[0].nodes[1]",
                                  "node 'pve-dr1' is at site 'dr', not 'primary'"),
    "storage-content-not-allowed": ("storage.yaml:30", "storage[4].content[1]",
                                   "a zfspool storage cannot hold 'backup'"),
    "storage-not-shared-by-nature": ("storage.yaml:30", "storage[4].shared",
                                    "a nfs storage is shared by nature"),
    "storage-local-marked-shared": ("storage.yaml:30", "storage[4].shared",
                                   "a zfspool storage is local to each node"),
    "storage-missing-path": ("storage.yaml:24", "storage[3].path", "a dir storage needs path"),
    "storage-setting-not-applicable": ("storage.yaml:28", "storage[3].pool",
                                      "pool does not apply to a dir storage"),
    "storage-path-not-absolute": ("storage.yaml:27", "storage[3].path",
                                 "'var/lib/partilha/lab/backup-dr' is not an absolute path"),
    "guest-storage-too-small": ("datacentre.yaml:11", "datacentre.sites[0].guest_storage",
                               "guests at 'primary' need 74 GiB, storage 'lab-guests' has 60 GiB"),
    "unknown-storage-type": ("storage.yaml:25", "storage[3].type", "'ceph': input should be 'dir'"),
    # services.yaml too: only eprocurement stays HA
    "ha-without-shared-storage": ("municipalities.yaml:38", "shared.services.eprocurement",
                                 "cim-medio-tejo-eprocurement is HA but storage 'lab-guests'"),

    # networks.yaml
    "duplicate-zone": ("networks.yaml:6", "networks.zones[1].id", "duplicate zone 'cim'"),
    "duplicate-vnet": ("networks.yaml:11", "networks.vnets[4].id", "duplicate vnet 'vabt'"),
    "zone-without-bridge": ("networks.yaml:5", "networks.zones[0].bridge", "a vlan zone needs a bridge"),
    "vnet-without-tag": ("networks.yaml:8", "networks.vnets[1].tag",
                        "vnet 'dmz' is in vlan zone 'cim': it needs a tag"),
    "tagged-vnet-in-simple-zone": ("networks.yaml:9", "networks.vnets[1].tag",
                                  "zone 'edge' is simple: its vnets take no tag"),
    "unknown-zone": ("networks.yaml:8", "networks.vnets[1].zone", "unknown zone 'edge'"),
    "duplicate-vlan": ("networks.yaml:12", "networks.vnets[5].tag", "duplicate VLAN tag 101 on 'vmbr0'"),
    "gateway-outside-prefix": ("networks.yaml:11", "networks.vnets[4].gateway",
                              "gateway 10.130.0.1 is outside prefix 10.103.0.0/24"),
    "gateway-is-network-address": ("networks.yaml:11", "networks.vnets[4].gateway",
                                  "gateway 10.103.0.0 is the network or broadcast address"),
    "overlapping-prefixes": ("networks.yaml:12", "networks.vnets[5].prefix",
                            "prefix 10.100.0.0/15 of 'vfzz' overlaps 10.101.0.0/24 of 'vabt'"),
    "prefix-with-host-bits": ("networks.yaml:12", "networks.vnets[5].prefix",
                             "'10.105.0.1/24': input is not a valid IPv4 network"),
    "prefix-too-small": ("networks.yaml:11", "networks.vnets[4].prefix",
                         "10.103.0.0/30 has no address for constancia-portal, constancia-dms, "
                         "constancia-einvoice, constancia-intranet"),
    "vnet-id-too-long": ("networks.yaml:10", "networks.vnets[3].id", "'vabrantes' is not a valid SDN id"),
    "vlan-tag-out-of-range": ("networks.yaml:12", "networks.vnets[5].tag",
                             "5000: input should be less than or equal to 4094"),
    "municipality-vnet-without-municipality": ("networks.yaml:13", "networks.vnets[6].municipality",
                                              "a municipality vnet names its municipality"),
    "vnet-unknown-municipality": ("networks.yaml:13", "networks.vnets[6].municipality",
                                 "unknown municipality 'macao'"),
    "municipality-without-vnet": ("municipalities.yaml:22", "municipalities[2]",
                                 "'ferreira-do-zezere' needs exactly one vnet, found 0"),
    "missing-dmz-vnet": ("networks.yaml:7", "networks.vnets", "needs exactly one dmz vnet, found 0"),
    "missing-shared-vnet": ("networks.yaml:7", "networks.vnets", "needs exactly one shared vnet, found 0"),

    # backup.yaml
    "backup-storage-unknown": ("backup.yaml:5", "backup.storages.dr", "unknown storage 'lab-backup-nowhere'"),
    "backup-storage-without-backup-content": ("backup.yaml:5", "backup.storages.dr",
                                             "storage 'lab-guests-dr' does not hold 'backup' content"),
    "backup-storage-at-other-site": ("backup.yaml:5", "backup.storages.dr",
                                    "storage 'lab-backup' is at site 'primary', not 'dr'"),
    # gold and silver not offsite either
    "site-without-backup-storage": ("backup.yaml:4", "backup.storages", "site 'dr' has no backup storage"),
    # storage.yaml and datacentre.yaml too: a one-site data centre; silver not offsite
    "offsite-without-dr-site": ("backup.yaml:11", "backup.tiers.gold.offsite",
                               "an offsite copy needs a dr site with a backup storage"),
    "retention-keeps-nothing": ("backup.yaml:23", "backup.tiers.bronze.retention", "keeps nothing"),
    "retention-negative": ("backup.yaml:23", "backup.tiers.bronze.retention.keep_weekly",
                          "-4: input should be greater than or equal to 0"),
    "schedule-misses-rpo": ("backup.yaml:10", "backup.tiers.gold.schedule", "'*/6:00' leaves up to 6 h"),
    "schedule-does-not-repeat": ("backup.yaml:22", "backup.tiers.bronze.schedule",
                                "'2024-06-02 01:30' does not repeat, so cannot meet any RPO"),
    "schedule-stops": ("backup.yaml:16", "backup.tiers.silver.schedule",
                      "'2024-*-* 21:00' leaves up to 26283 h"),
    "bad-calendar-event": ("backup.yaml:16", "backup.tiers.silver.schedule",
                          "'every day at 21:00' is not a calendar event"),
    "rpo-zero": ("backup.yaml:14", "backup.tiers.silver.rpo_hours", "0: input should be greater than 0"),

    # services.yaml, and what YAML itself rejects
    "unknown-tier": ("services.yaml:37", "services.einvoice.backup_tier", "unknown tier 'platinum'"),
    "personal-data-without-backup": ("services.yaml:39", "services.crm.backup_tier",
                                    "holds personal data: it needs a backup tier"),
    "internet-service-without-ports": ("services.yaml:74", "services.gis.ports",
                                      "an internet-facing service must declare its ports"),
    "duplicate-port": ("services.yaml:13", "services.portal.ports[2]", "duplicate port '443'"),
    "port-out-of-range": ("services.yaml:13", "services.portal.ports[2]",
                         "70000: input should be less than or equal to 65535"),
    "unknown-role": ("services.yaml:40", "services.crm.role", "'webmail' has no deploy"),
    "missing-field": ("services.yaml:39", "services.crm.cpus", "missing (required)"),
    "not-a-number": ("services.yaml:54", "services.intranet.memory_mib",
                     "'lots': input should be a valid integer"),
    "memory-below-minimum": ("services.yaml:54", "services.intranet.memory_mib",
                            "32: input should be greater than or equal to 64"),
    "duplicate-key": ("services.yaml:55", "services.intranet.memory_mib", "duplicate key"),
    "bad-yaml-tag": ("services.yaml:54", "services.intranet.memory_mib",
                    "invalid value: 'lots' is not a valid !!int"),
    "invalid-yaml": ("services.yaml:14", "", "invalid YAML: "),  # libyaml's words or PyYAML's
    "key-not-text": ("services.yaml:52", "services.intranet", "keys must be text"),
    "alias-containing-itself": ("services.yaml:13", "services.portal.ports[1]",
                               "alias *ports is used inside the node it names"),
    # YAML 1.1 and 1.2 read these differently: refused, never silently one or the other
    "sexagesimal-number": ("backup.yaml:8", "backup.tiers.gold.rpo_hours",
                           "'4:00' is ambiguous: YAML 1.1 reads the number 240, YAML 1.2 the text '4:00'"),
    "octal-looking-number": ("services.yaml:13", "services.portal.ports[1]",
                             "'0443' is ambiguous: YAML 1.1 reads the number 291, YAML 1.2 the number 443"),
    "tag-on-collection": ("services.yaml:13", "services.portal.ports", "tag !portlist is not allowed"),
    # control characters would reach terminals and reports
    "control-character-in-name": ("municipalities.yaml:5", "municipalities[0].name",
                                  "holds a control character, U+001B (ESC), at character 9"),
    "bidi-override-in-name": ("municipalities.yaml:15", "municipalities[1].name",
                              "U+202E (RIGHT-TO-LEFT OVERRIDE), at character 6"),
    "line-break-in-description": ("services.yaml:7", "services.portal.description",
                                  "holds a control character, U+000A (LF)"),
    "control-character-raw": ("municipalities.yaml:5", "",
                              "invalid YAML: a control character, U+001B (ESC), is not allowed"),

    # municipalities.yaml
    "duplicate-slug": ("municipalities.yaml:31", "municipalities[3].slug", "duplicate slug 'abrantes'"),
    "duplicate-name": ("municipalities.yaml:15", "municipalities[1].name", "duplicate name 'Abrantes'"),
    "slug-not-ascii": ("municipalities.yaml:13", "municipalities[1].slug",
                      "'constância' is not a valid slug"),
    "slug-uppercase": ("municipalities.yaml:3", "municipalities[0].slug", "'Abrantes' is not a valid slug"),
    # networks.yaml too: the vnet names the long slug
    "slug-too-long": ("municipalities.yaml:3", "municipalities[0].slug",
                      "61 characters, over 60: the slug names the PVE user <slug>@pve, which PVE caps at 64"),
    "unknown-field": ("municipalities.yaml:6", "municipalities[0].mayor", "unknown field"),
    "unknown-service": ("municipalities.yaml:9", "municipalities[0].services.webmail",
                       "unknown service 'webmail'"),
    "service-scope-mismatch": ("municipalities.yaml:9", "municipalities[0].services.gis",
                              "service 'gis' is for shared use, not municipality"),
    "override-unknown-tier": ("municipalities.yaml:9", "municipalities[0].services.dms.backup_tier",
                             "unknown tier 'platinum'"),
    "override-unknown-field": ("municipalities.yaml:9", "municipalities[0].services.dms.ram_mib",
                              "unknown field"),
    "unknown-node": ("municipalities.yaml:30", "municipalities[2].services.intranet.node",
                    "unknown node 'pve9'"),
    "pinned-to-dr-node": ("municipalities.yaml:30", "municipalities[2].services.intranet.node",
                         "node 'pve-dr1' is not a compute node of the primary site"),
    "quota-exceeded": ("municipalities.yaml:16", "municipalities[1].quota.cpus",
                      "services of 'constancia' need 4 CPUs"),
    "guest-name-too-long": ("municipalities.yaml:38", "shared.services.eprocurement",
                           "is longer than 63 characters"),
    # services.yaml too: a municipal web-gis; the CIM's slug is abrantes-web
    "duplicate-guest-name": ("municipalities.yaml:40", "shared.services.gis",
                            "duplicate guest name 'abrantes-web-gis'"),
    # services.yaml: einvoice takes crm's number, and Abrantes runs both
    "service-number-reused": ("municipalities.yaml:11", "municipalities[0].services.crm",
                              "abrantes-crm would share vmid 10104 and address 10.101.0.14 with "
                              "abrantes-einvoice"),

    # the folder and its files ("" names the folder itself)
    "missing-file-section": ("", "services", "missing (required)"),
    "top-level-key-in-two-files": ("tiers.yaml:3", "backup",
                                  "/top-level-key-in-two-files/backup.yaml"),
    "file-not-a-mapping": ("services.yaml:1", "", "the file must hold a mapping of fields"),
    # flows.yaml: a declared flow names a tenant, a service it runs and that service's ports
    "flow-unknown-tenant": ("flows.yaml:4", "flows[1].from", "unknown tenant 'tomar'"),
    "flow-unknown-service": ("flows.yaml:4", "flows[1].service",
                             "tenant 'cim-medio-tejo' runs no service 'portal'"),
    "flow-unknown-port": ("flows.yaml:3", "flows[0].ports[1]", "port 5432 is not a port of 'gis'"),
}


def validate(folder: Path, capsys: pytest.CaptureFixture[str],
             command: str = "validate") -> tuple[int, str, str]:
    """`partilha inventory validate FOLDER` (or `show`) through the console script's entry point."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["partilha", "inventory", command, str(folder)])
        patch.delenv("FORCE_COLOR", raising=False)
        patch.delenv("TTY_COMPATIBLE", raising=False)
        with pytest.raises(SystemExit) as exit_:
            main()
    out, err = capsys.readouterr()
    return int(exit_.value.code or 0), out, err


def console_script(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PARTILHA, "inventory", "validate", folder], capture_output=True,
                          text=True, env=NO_COLOUR, timeout=120, check=False)


def copy_of(folder: Path, into: Path) -> Path:
    """A real copy of a case (its symlinks to ../valid/ followed), named as the case."""
    return Path(shutil.copytree(folder, into / folder.name, symlinks=False))


@pytest.mark.parametrize("case", CASES)
def test_case_is_rejected_with_one_problem(case: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    where, field, message = CASES[case]
    folder = copy_of(DATA / case, tmp_path)
    code, _, err = validate(folder, capsys)
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    line = err.rstrip("\n")
    file, _, number = where.partition(":")
    located = f"{folder / file}:{number}" if file else f"{folder}"
    prefix = f"invalid inventory: {located}: " + (f"{field}: " if field else "")
    assert line.startswith(prefix), line
    assert message in line.removeprefix(prefix)


@pytest.mark.parametrize("case", ["duplicate-vlan", "node-name-not-a-host-name", "invalid-yaml"])
def test_console_script_prints_the_same(case: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    folder = copy_of(DATA / case, tmp_path)
    run = console_script(folder)
    assert (run.returncode, run.stdout, run.stderr) == validate(folder, capsys)


@pytest.mark.parametrize("folder", [VALID, *REFERENCE], ids=lambda folder: folder.name)
def test_valid_inventory_passes(folder: Path) -> None:
    run = console_script(folder)
    assert (run.returncode, run.stderr) == (0, ""), run.stderr
    assert run.stdout.startswith(f"valid: {folder} — ")


def test_every_case_folder_is_in_the_table() -> None:
    folders = {path.name for path in DATA.iterdir() if path.is_dir()} - {"valid"}
    assert sorted(folders) == sorted(CASES)


@pytest.mark.parametrize("case", CASES)
def test_case_holds_only_the_files_it_changes(case: str) -> None:
    for path in (DATA / case).iterdir():
        if path.is_symlink():
            assert path.readlink() == Path("../valid", path.name)
            assert path.exists(), f"{path} points at nothing"
        else:
            twin = VALID / path.name
            assert not twin.exists() or twin.read_bytes() != path.read_bytes(), f"{path} is a copy"


# Files that are not what they seem, made in a copy of the valid inventory: each is refused before
# a byte of it is read, in one line naming it.
SECRET = "root:$6$not-for-your-eyes$:19000:0:99999:7:::"


def _make_symlink_outside(services: Path) -> None:
    secret = services.parent.parent / "shadow"
    secret.write_text(f"{SECRET}\nservices: [unclosed\n", encoding="utf-8")  # invalid YAML too
    services.unlink()
    services.symlink_to(secret)


def _make_dangling_symlink(services: Path) -> None:
    services.unlink()
    services.symlink_to(services.parent / "nowhere.yaml")


def _make_fifo(services: Path) -> None:  # opening it to read waits for a writer that never comes
    services.unlink()
    os.mkfifo(services)


def _make_device(services: Path) -> None:  # /dev/zero's numbers: reading it never ends
    services.unlink()
    os.mknod(services, stat.S_IFCHR | 0o600, os.makedev(1, 5))


def _make_huge(services: Path) -> None:  # sparse: 1 TiB that takes no disk
    with services.open("r+b") as file:
        file.truncate(2**40)


def _make_directory(services: Path) -> None:
    services.unlink()
    services.mkdir()


HOSTILE_FILES: dict[str, tuple[Callable[[Path], None], str]] = {
    "symlink-outside-the-folder": (_make_symlink_outside,
                                   "a symbolic link leading outside the inventory folder"),
    "dangling-symlink": (_make_dangling_symlink, "a symbolic link to nothing"),
    "fifo": (_make_fifo, "a FIFO, not a regular file"),
    "device": (_make_device, "a character device, not a regular file"),
    "huge-file": (_make_huge, "1099511627776 bytes, over the 16 MiB an inventory file may hold"),
    "directory": (_make_directory, "a directory, not a regular file"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", HOSTILE_FILES)
def test_a_file_that_is_not_what_it_seems_is_refused_unread(
        case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make, message = HOSTILE_FILES[case]
    folder = copy_of(VALID, tmp_path)
    make(folder / "services.yaml")
    code, out, err = validate(folder, capsys)
    assert (code, out) == (2, ""), err
    assert err.startswith(f"invalid inventory: {folder / 'services.yaml'}: {message}"), err
    assert len(err.splitlines()) == 1, err
    assert "not-for-your-eyes" not in err


def test_a_symlink_inside_the_folder_is_followed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = copy_of(VALID, tmp_path)
    (folder / "catalogue").mkdir()
    (folder / "services.yaml").rename(folder / "catalogue" / "services.yaml")
    (folder / "services.yaml").symlink_to(Path("catalogue", "services.yaml"))
    code, out, err = validate(folder, capsys)
    assert (code, err) == (0, ""), err
    assert out.startswith(f"valid: {folder} — ")


# A value of a megabyte (under the file cap) where each kind of message would echo it.
LONG = "x" * 1_000_000
ECHOES = {
    "slug (a format)": ("municipalities.yaml", 'slug: abrantes', f"slug: abrantes-{LONG}X"),
    "description (a length)": ("services.yaml",
                               'description: "Portal do munícipe e formulários electrónicos"',
                               f'description: "{LONG}"'),
    "storage path (a rule)": ("storage.yaml", "path: /var/lib/partilha/lab/guests\n",
                              f"path: var/lib/{LONG}\n"),
    # an explicit key: YAML allows plain (implicit) keys of at most 1024 characters
    "key (the field)": ("services.yaml", "  portal:\n    number: 1\n", f"  ? {LONG}\n  : number: 1\n"),
}


@pytest.mark.parametrize("case", ECHOES)
def test_a_huge_value_is_not_echoed_back(case: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    name, old, new = ECHOES[case]
    folder = copy_of(VALID, tmp_path)
    text = (folder / name).read_text(encoding="utf-8")
    assert old in text
    (folder / name).write_text(text.replace(old, new, 1), encoding="utf-8")
    code, _, err = validate(folder, capsys)
    assert code == 2, err
    assert all(len(line) < 1000 for line in err.splitlines()), [len(line) for line in err.splitlines()]
    assert LONG[:1000] not in err


def test_rich_markup_in_the_folder_name_is_printed_as_text(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    folder = copy_of(VALID, tmp_path / "[/b]cim [bold]:warning:")
    code, out, err = validate(folder, capsys)
    assert (code, err) == (0, ""), err
    assert out.startswith(f"valid: {folder} — ")


def test_rich_markup_in_display_names_is_shown_as_text(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    folder = copy_of(VALID, tmp_path)
    path = folder / "municipalities.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        'name: "Abrantes"', 'name: "[/b]Abrantes [red]:warning:"'), encoding="utf-8")
    code, out, err = validate(folder, capsys, "show")
    assert (code, err) == (0, ""), err
    assert "[/b]Abrantes" in out
    assert "[red]:warning:" in out or "[red]:warning" in out  # a narrow column may wrap after it
