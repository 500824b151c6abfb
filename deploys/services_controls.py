"""The service guests' controls: what every deploys/services/<role>.py guarantees, and why.

Same shape as the baseline's catalogue (deploys/controls.py): `partilha.controls.Control`s;
tests/infra/test_services.py proves each one on every guest with a role, reading the role's
own declaration (its `SERVICE`: health check, app, ports) from deploys/services/<role>.py.
"""

from __future__ import annotations

from partilha.controls import Control

NOT_A_SERVICE = "a node runs no catalogue service"


def _service(id: str, title: str, impact: float, rationale: str, cis: tuple[str, ...] = ()) -> Control:
    return Control(id, title, impact, rationale, (), cis, hosts="guests", out_of_scope=NOT_A_SERVICE)


CONTROLS: tuple[Control, ...] = (
    _service("PTL-SRV-01", "The service answers its health check over TLS, with a certificate for "
             "its own name", 1.0,
             "A service that is up but broken (its database gone, its files missing) must show; "
             "TLS protects the municipality's data on the wire and the certificate names the guest."),
    _service("PTL-SRV-02", "The service listens on the catalogue's ports only; its app and "
             "database on loopback", 1.0,
             "What the catalogue does not declare is not exposed, even before the firewall.",
             ("2.1.22",)),
    _service("PTL-SRV-03", "Service processes run unprivileged: nginx's workers as www-data (the "
             "front door's HAProxy as haproxy), the app as its own system user", 0.7,
             "A flaw in the web server or the app must not hand over root or another service's "
             "data."),
    _service("PTL-SRV-04", "Plain HTTP, where the catalogue opens it, only redirects to HTTPS", 0.7,
             "Forms with personal data are never sent or served in clear text."),
)

BY_ID = {c.id: c for c in CONTROLS}
