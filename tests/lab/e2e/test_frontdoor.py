"""The front door end to end, on the whole lab env test_up checks too (one `partilha up`, shared:
conftest.WholeLab), after `partilha deploy services` of each municipality's portal and the CIM's
two services and front door (the other guests are not deployed: the probe gives them listeners),
then a citizen in the lab's outside namespace.

The citizen reaches each municipality's portal and each public shared service through the front
door by name over TLS verified against the lab CA, and nothing else: `partilha probe`'s outside
rows (written out by hand here) show the front door's 80 and 443 open and every other port of every
guest, and the lab host's SSH and API, filtered. A back end stopped: the front door's health check
takes it out and its site alone answers 503, until it is back. Past the rate limit: 429.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable

import pytest

from partilha.inventory import guests
from partilha.lab import control

from .conftest import Cli, WholeLab

pytestmark = pytest.mark.lab
SITES = {  # the lab's, by hand
    "portal.abrantes.lab.partilha.test": "Portal do munícipe",
    "portal.constancia.lab.partilha.test": "Portal do munícipe",
    "portal.ferreira-do-zezere.lab.partilha.test": "Portal do munícipe",
    "eprocurement.lab.partilha.test": "Contratação pública electrónica",
    "gis.lab.partilha.test": "Sistema de informação geográfica intermunicipal",
}
DOOR = "cim-medio-tejo-frontdoor"
UNKNOWN = "library.lab.partilha.test"  # no such site
HEALTH_WAIT = 30  # seconds: a bound for the health check to notice (2 failures, 2 s apart)


def _ok(run: subprocess.CompletedProcess[str]) -> None:
    assert run.returncode == 0, f"{run.args}: {run.stderr[-3000:]}\n{run.stdout[-3000:]}"


@pytest.fixture(scope="module")
def door(whole_lab: WholeLab) -> Cli:
    cli, made = whole_lab.get()
    _ok(made.run)
    _ok(cli("deploy", "services", "--env", "lab", "--limit", "role_portal",
            "--limit", "tenant_cim_medio_tejo"))
    return cli


def _until(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + HEALTH_WAIT
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(1)
    return False


class Citizen:
    def __init__(self, cli: Cli) -> None:
        seat = control.citizen(cli.lab)
        assert seat is not None
        self.namespace = seat[0]
        self.ca = cli.home / ".partilha" / "frontdoor" / "lab" / "ca.pem"
        (address,) = [str(g.address.ip) for g in guests(cli.inventory) if g.name == DOOR and g.address]
        self.door = address

    def curl(self, *args: str, ca: bool = True) -> subprocess.CompletedProcess[str]:
        """curl in the outside namespace, every name of the lab resolved to the front door."""
        resolve = [w for site in (*SITES, UNKNOWN) for w in ("--resolve", f"{site}:443:{self.door}",
                                                 "--resolve", f"{site}:80:{self.door}")]
        return subprocess.run(["ip", "netns", "exec", self.namespace, "curl", "-sS", "--max-time", "10",
                               *(["--cacert", str(self.ca)] if ca else []), *resolve, *args],
                              capture_output=True, text=True, timeout=60, check=False)

    def status(self, url: str) -> str:
        done = self.curl("-o", "/dev/null", "-w", "%{http_code}", url)
        if done.returncode != 0:
            return f"curl exit {done.returncode}: {done.stderr.strip()}"
        return done.stdout.strip()


@pytest.fixture(scope="module")
def citizen(door: Cli) -> Citizen:
    seat = Citizen(door)
    # the front door may have started before a back end answered: its checks bring it in
    _until(lambda: all(seat.status(f"https://{site}/") == "200" for site in SITES))
    return seat


def test_a_citizen_reaches_every_public_site_by_name_over_verified_tls(citizen: Citizen) -> None:
    for site, title in SITES.items():
        page = citizen.curl("-D", "-", f"https://{site}/")
        _ok(page)
        head, _, body = page.stdout.partition("\n\n")  # text mode: CRLF read as LF
        assert head.startswith("HTTP/2 200") and title in body, (site, page.stdout[:500])
        headers = head.lower()
        for header in ("strict-transport-security: max-age=31536000", "x-content-type-options: nosniff",
                       "x-frame-options: deny", "referrer-policy: same-origin",
                       "content-security-policy: frame-ancestors 'none'"):  # the front door's own
            assert header in headers, (site, header)
        assert "\nserver:" not in headers, site
        moved = citizen.curl("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", f"http://{site}/forms/")
        assert moved.stdout == f"301 https://{site}/forms/", site
    untrusted = citizen.curl("-o", "/dev/null", f"https://{next(iter(SITES))}/", ca=False)
    assert untrusted.returncode == 60  # a real verification: without the lab CA, refused
    assert citizen.status(f"https://{UNKNOWN}/").startswith("curl exit 60")  # not named by the certificate
    unknown = citizen.curl("-k", "-o", "/dev/null", "-w", "%{http_code}", f"https://{UNKNOWN}/")
    assert unknown.stdout == "404"


def test_from_outside_only_the_front_door_answers(door: Cli, citizen: Citizen) -> None:
    probed = door("probe", "--env", "lab", "--json")
    _ok(probed)
    found = json.loads(probed.stdout)
    rows = {(p["to"], p["port"]): p["observed"] for p in found["pairs"] if p["from"] == "outside"}
    made = {g.name for g in guests(door.inventory)}
    assert set(rows) == {(name, port) for name in made for port in (22, 80, 443, 3306, 8080)} | {
        ("lab-host", 22), ("lab-host", door.lab.port)}
    assert {k for k, seen in rows.items() if seen == "open"} == {(DOOR, 80), (DOOR, 443)}
    assert set(rows.values()) == {"open", "filtered"}  # nothing else even answers
    assert found["unexpected"] == []


def test_a_back_end_down_is_503_for_its_site_only_until_it_is_back(door: Cli, citizen: Citizen) -> None:
    down = "portal.abrantes.lab.partilha.test"
    others = [site for site in SITES if site != down]
    _ok(door("ssh", "abrantes-portal", "--", "systemctl stop nginx"))
    try:
        assert _until(lambda: citizen.status(f"https://{down}/") == "503"), citizen.status(f"https://{down}/")
        assert {site: citizen.status(f"https://{site}/") for site in others} == dict.fromkeys(others, "200")
    finally:
        _ok(door("ssh", "abrantes-portal", "--", "systemctl start nginx"))
    assert _until(lambda: citizen.status(f"https://{down}/") == "200")


def test_past_the_rate_limit_a_citizen_gets_429(citizen: Citizen) -> None:
    url = "https://gis.lab.partilha.test/health"
    burst = citizen.curl("-w", "%{http_code}\\n", *(["-o", "/dev/null", url] * 230))
    codes = burst.stdout.split()
    assert len(codes) == 230 and set(codes[:150]) == {"200"} and codes[-1] == "429", codes
