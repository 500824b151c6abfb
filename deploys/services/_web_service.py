"""What the service deploys share: a role's declaration, its packages, the TLS certificate, the
nginx site on the catalogue's ports, and the records application behind it.

A role's file (deploys/services/<role>.py) declares its `WebService` and deploys it with
`deploy(SERVICE)` (or `install` + its own steps + `serve`). All role files run in one pyinfra
run over the guests; each acts only on the hosts of its role (`deploying`), and importing one
outside pyinfra (tests/infra reads `SERVICE.health`) deploys nothing.

- TLS: Debian's ssl-cert makes a self-signed certificate for the guest's own name at install
  (the "snakeoil" pair): the private key is made on the guest and never leaves it.
- nginx listens on 443 (TLS) and, when the catalogue declares it, on 80 (a redirect to
  https); only on the ports the host's model declares (`Host.inbound`, from the catalogue).
- The records app (files/records_app.py) listens on 127.0.0.1:8080 as the role's own system
  user; PostgreSQL roles reach their database over the local socket as that user (peer).
  /usr/local/sbin/partilha-data-digest prints the digest of its records (vzdump's hook records
  it beside each archive; `dr run verify-backups` compares a restored copy's).
Every operation is declarative: a converged guest reports 0 changes. Operation names do not
carry the role: pyinfra orders operations by where they are called, so the role files' calls
into this module are one operation each, whichever role a host has.
"""

from dataclasses import dataclass
from pathlib import Path

from pyinfra import host
from pyinfra.api import OperationError
from pyinfra.context import ctx_host
from pyinfra.facts.deb import DebPackages
from pyinfra.operations import apt, files, server, systemd
from pyinfra.operations.util import any_changed

from partilha.deploy.hosts import Host
from partilha.deploy.this_host import this_host

HERE = Path(__file__).resolve().parent
CERTIFICATE = "/etc/ssl/certs/ssl-cert-snakeoil.pem"
CERTIFICATE_KEY = "/etc/ssl/private/ssl-cert-snakeoil.key"
WEB_PACKAGES = ("nginx-light", "ssl-cert", "curl")  # curl: the health checks run on the guest
APP_PROGRAM = "/opt/partilha/records_app.py"
APP_PORT = 8080
DATA_DIGEST = "/usr/local/sbin/partilha-data-digest"  # backup/hooks/vzdump-partilha runs it
HTTP, HTTPS = 80, 443


@dataclass(frozen=True)
class Health:
    """The role's health check: GET https://<guest name>:<port><path> answers 200 with `expect`
    in its body (the records app answers it after a real query on its store)."""

    path: str = "/health"
    port: int = HTTPS
    expect: str = '"status": "ok"'


@dataclass(frozen=True)
class App:
    collection: str  # /api/<collection>
    store: str = "sqlite"  # or "postgresql": the tenant's database (`tenant_database`)


@dataclass(frozen=True)
class WebService:
    role: str
    title: str  # the index page's heading, in the users' language
    app: App | None = None
    packages: tuple[str, ...] = ()
    static: str | None = None  # files/<static>/ goes into the document root
    links: tuple[tuple[str, str], ...] = ()  # (href, text) on the index page
    health: Health = Health()
    server: tuple[str, str] = ("nginx", "www-data")  # the web server and the user its workers run as

    @property
    def docroot(self) -> str:
        return f"/srv/partilha-{self.role}"

    @property
    def unit(self) -> str:
        return f"partilha-{self.role}"


def deploying(service: WebService) -> bool:
    """Whether pyinfra is deploying to a host of this service's role now."""
    return ctx_host.isset() and this_host().role == service.role


def tenant_database(me: Host) -> str:
    """A tenant's database name: its slug as an SQL identifier (ferreira_do_zezere)."""
    if not me.tenant:
        raise OperationError(f"{me.name}: a guest without a tenant has no tenant database")
    return me.tenant.replace("-", "_")


def install(service: WebService) -> None:
    wanted = [*WEB_PACKAGES, *service.packages]
    wanted += ["python3-psycopg2"] if service.app and service.app.store == "postgresql" else []
    installed = host.get_fact(DebPackages)
    # Refresh the lists only to install, and not again if another deploy of this run just did.
    apt.packages(name="service: packages", packages=wanted, no_recommends=True,
                 update=any(p not in installed for p in wanted), cache_time=3600)


def serve(service: WebService) -> None:
    me = this_host()
    _document_root(service, me)
    if service.app:
        _app(service, service.app, me)
    _nginx(service, me)


def deploy(service: WebService) -> None:
    if deploying(service):
        install(service)
        serve(service)


def _document_root(service: WebService, me: Host) -> None:
    # Modes given explicitly: the baseline's umask (027) would hide new directories from nginx.
    files.directory(name="service: document root", path=service.docroot, user="root", group="root",
                    mode="755")
    files.template(name="service: index page", src=str(HERE / "templates" / "index.html.j2"),
                   dest=f"{service.docroot}/index.html", user="root", group="root", mode="644",
                   title=service.title, tenant=me.tenant, role=service.role, server_name=me.name,
                   links=service.links)
    if service.static:
        files.sync(name="service: static pages", src=str(HERE / "files" / service.static),
                   dest=service.docroot, user="root", group="root", mode="644", dir_mode="755")


def _app(service: WebService, app: App, me: Host) -> None:
    account = service.role
    server.user(  # noqa: S604 - `shell` is the account's login shell, no subprocess
        name="service: the app's system user", user=account, system=True,
        home=f"/var/lib/{service.unit}", create_home=False, shell="/usr/sbin/nologin")
    files.directory(name="service: the app's directory", path=APP_PROGRAM.rsplit("/", 1)[0],
                    user="root", group="root", mode="755")
    program = files.put(name="service: the records app",
                        src=str(HERE / "files" / "records_app.py"), dest=APP_PROGRAM,
                        user="root", group="root", mode="644")
    store = (f"postgresql:{tenant_database(me)}" if app.store == "postgresql"
             else f"sqlite:/var/lib/{service.unit}/records.sqlite")
    unit = files.template(
        name="service: the app's unit", src=str(HERE / "templates" / "records.service.j2"),
        dest=f"/etc/systemd/system/{service.unit}.service", user="root", group="root", mode="644",
        role=service.role, collection=app.collection, account=account, port=APP_PORT, store=store,
        program=APP_PROGRAM, state_dir=service.unit, postgresql=app.store == "postgresql")
    files.template(
        name="service: the data digest vzdump's hook records",
        src=str(HERE / "templates" / "partilha-data-digest.j2"),
        dest=DATA_DIGEST, user="root", group="root", mode="755", role=service.role,
        collection=app.collection, account=account, store=store, program=APP_PROGRAM)
    systemd.daemon_reload(name="service: systemd reads the unit", _if=unit.did_change)
    systemd.service(name="service: the app runs", service=service.unit, running=True, enabled=True)
    systemd.service(name="service: the app restarts on a new version", service=service.unit,
                    restarted=True, _if=any_changed(program, unit))


def _nginx(service: WebService, me: Host) -> None:
    ports = sorted({rule.first for rule in me.inbound if rule.proto == "tcp"})
    if HTTPS not in ports or set(ports) - {HTTP, HTTPS}:
        raise OperationError(f"{me.name}: the catalogue gives {service.role} ports {ports}; its nginx "
                             f"serves {HTTPS} and, if declared, {HTTP} (a redirect)")
    site = files.template(
        name="service: nginx site on the catalogue's ports",
        src=str(HERE / "templates" / "site.conf.j2"),
        dest=f"/etc/nginx/sites-available/{service.unit}.conf", user="root", group="root", mode="644",
        role=service.role, server_name=me.name, ports=ports, certificate=CERTIFICATE,
        certificate_key=CERTIFICATE_KEY, docroot=service.docroot,
        app_port=APP_PORT if service.app else None)
    enabled = files.link(name="service: nginx site enabled",
                         path=f"/etc/nginx/sites-enabled/{service.unit}.conf",
                         target=f"/etc/nginx/sites-available/{service.unit}.conf")
    default = files.link(name="nginx: no default site", path="/etc/nginx/sites-enabled/default",
                         present=False)
    changed = any_changed(site, enabled, default)
    server.shell(name="nginx accepts the configuration", commands=["nginx -t -q"], _if=changed)
    systemd.service(name="nginx runs", service="nginx", running=True, enabled=True)
    systemd.service(name="nginx takes the new site", service="nginx", reloaded=True, _if=changed)
