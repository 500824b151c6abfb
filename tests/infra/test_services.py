"""The service guests, proved on each one: one test per control of deploys/services_controls.py.

What a guest must answer comes from its role's own declaration, `SERVICE` in
deploys/services/<role>.py (importing it outside pyinfra deploys nothing): its health check,
the pages its index links to, whether it runs the records app. The checks run on the guest,
over its own address, with TLS verified against the certificate the guest made for its name.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from testinfra.host import Host as Remote  # not Test*: pytest would collect it

from partilha.deploy.catalogue import load_controls
from partilha.deploy.hosts import Host

load_controls()  # puts the checkout on sys.path: `deploys` is content, imported from there
web = importlib.import_module("deploys.services._web_service")
SSH_PORT = 22


def service_of(spec: Host) -> Any:
    return importlib.import_module(f"deploys.services.{spec.role}").SERVICE


def control(control_id: str) -> pytest.MarkDecorator:
    return pytest.mark.control(control_id)


def get(host: Remote, spec: Host, url_path: str, port: int = web.HTTPS) -> tuple[str, str, str]:
    """(status code, Location header, body) of GET <scheme>://<guest name><path> from the guest."""
    scheme = "https" if port == web.HTTPS else "http"
    result = host.run(f"curl -sS --max-time 10 --cacert {web.CERTIFICATE} "
                      f"--resolve {spec.name}:{port}:{spec.address} -w '\\n%{{http_code}} %{{redirect_url}}' "
                      f"{scheme}://{spec.name}:{port}{url_path}")
    assert result.rc == 0, f"{scheme}://{spec.name}:{port}{url_path}: {result.stderr.strip()}"
    body, _, status = result.stdout.rpartition("\n")
    code, _, location = status.partition(" ")
    return code, location, body


def declared_ports(spec: Host) -> set[int]:
    return {rule.first for rule in spec.inbound if rule.proto == "tcp"}


@control("PTL-SRV-01")
def test_health_check_over_tls(host: Remote, spec: Host) -> None:
    service = service_of(spec)
    code, _, body = get(host, spec, service.health.path, service.health.port)
    assert code == "200" and service.health.expect in body, f"{service.health.path}: {code} {body[:200]}"
    for href, _text in service.links:
        code, _, _ = get(host, spec, href)
        assert code == "200", f"{href} (linked from the index page): {code}"


@control("PTL-SRV-02")
def test_only_catalogue_ports_listen(host: Remote, spec: Host) -> None:
    exposed, local = set(), set()
    for socket in host.socket.get_listening_sockets():
        proto, _, where = socket.partition("://")
        address, _, port = where.rpartition(":")
        if proto == "tcp":
            (local if address in ("127.0.0.1", "::1") else exposed).add(int(port))
    assert exposed - {SSH_PORT} == declared_ports(spec), f"listening on {sorted(exposed)}"
    if service_of(spec).app:
        assert web.APP_PORT in local, f"the app does not listen on 127.0.0.1:{web.APP_PORT}"


@control("PTL-SRV-03")
def test_processes_unprivileged(host: Remote, spec: Host) -> None:
    service = service_of(spec)
    program, user = service.server
    users = host.check_output(f"ps -o user= -C {program}").split()
    assert user in users and set(users) == {"root", user}, f"{program} runs as {users}"
    if service.app:
        pid = host.check_output(f"systemctl show -p MainPID --value {service.unit}")
        assert pid != "0", f"{service.unit} is not running"
        assert host.check_output(f"ps -o user= -p {pid}") == service.role


@control("PTL-SRV-04")
def test_http_redirects_to_https(host: Remote, spec: Host) -> None:
    if web.HTTP not in declared_ports(spec):
        pytest.skip(f"not applicable: the catalogue opens no port 80 for {spec.role}")
    code, location, _ = get(host, spec, "/forms/", web.HTTP)
    assert (code, location) == ("301", f"https://{spec.name}/forms/")
