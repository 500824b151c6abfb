"""The front door: HAProxy in the DMZ, the one way in for citizens. One virtual host per
internet-facing service (the host model's `backends`: portal.<municipality>.<domain>,
<shared service>.<domain>), TLS terminated with the certificate the operator side provides
(partilha.deploy.certificates: the lab CA's, or the CIM's), port 80 redirecting to HTTPS,
active health checks to each back end (a site whose back end fails them answers 503; the
others carry on), security headers, and a per-address rate limit (429).

The hop to a back end is TLS over the one flow the DMZ has to it; the back end's certificate is
its own self-signed one (deploys/services/_web_service.py), so it is not verified there.
"""

from io import StringIO
from pathlib import Path

from pyinfra import host
from pyinfra.api import OperationError
from pyinfra.facts.deb import DebPackages
from pyinfra.operations import apt, files, server, systemd
from pyinfra.operations.util import any_changed

from deploys.services._web_service import CERTIFICATE, CERTIFICATE_KEY, HERE, WebService, deploying
from partilha.deploy.certificates import check
from partilha.deploy.this_host import this_host
from partilha.errors import UserError

SERVICE = WebService(role="frontdoor", title="Porta de entrada", server=("haproxy", "haproxy"))
CERTIFICATES = "/etc/haproxy/certs"
RATE = 200  # requests per 10 s from one address
PACKAGES = ("haproxy", "ssl-cert", "curl")


def _frontdoor() -> None:
    me = this_host()
    if not me.certificate:
        raise OperationError(f"{me.name}: no certificate for the front door (the fleet names none)")
    bundle = Path(me.certificate)
    try:
        check(bundle, [b.site for b in me.backends])
    except UserError as exc:
        raise OperationError(f"{me.name}: {exc}") from None
    installed = host.get_fact(DebPackages)
    apt.packages(name="front door: packages", packages=list(PACKAGES), no_recommends=True,
                 update=any(p not in installed for p in PACKAGES), cache_time=3600)
    files.directory(name="front door: certificates folder", path=CERTIFICATES, user="root",
                    group="root", mode="700")
    site = files.put(name="front door: the sites' certificate", src=StringIO(bundle.read_text()),
                     dest=f"{CERTIFICATES}/sites.pem", user="root", group="root", mode="600")
    own = [files.link(name=f"front door: its own name's certificate{suffix}",
                      path=f"{CERTIFICATES}/own.pem{suffix}", target=target)
           for suffix, target in (("", CERTIFICATE), (".key", CERTIFICATE_KEY))]
    config = files.template(
        name="front door: HAProxy's configuration", src=str(HERE / "templates" / "haproxy.cfg.j2"),
        dest="/etc/haproxy/haproxy.cfg", user="root", group="root", mode="644",
        server_name=me.name, backends=me.backends, site_certificate=f"{CERTIFICATES}/sites.pem",
        own_certificate=f"{CERTIFICATES}/own.pem", rate=RATE, health_path=SERVICE.health.path,
        check_interval="2s", check_timeout="2s")
    changed = any_changed(site, config, *own)
    server.shell(name="HAProxy accepts the configuration",
                 commands=["haproxy -c -q -f /etc/haproxy/haproxy.cfg"], _if=changed)
    systemd.service(name="HAProxy runs", service="haproxy", running=True, enabled=True)
    systemd.service(name="HAProxy takes the new configuration", service="haproxy", reloaded=True,
                    _if=changed)


if deploying(SERVICE):
    _frontdoor()
