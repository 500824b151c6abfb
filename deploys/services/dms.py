"""Gestão documental: documents in PostgreSQL, one database per municipality (its slug) owned by
the service's own role, reached over the local socket (peer authentication, no password)."""

from pyinfra.operations import postgres, systemd

from deploys.services._web_service import App, WebService, deploying, install, serve, tenant_database
from partilha.deploy.this_host import this_host

SERVICE = WebService(
    role="dms",
    title="Gestão documental e arquivo",
    app=App("documents", store="postgresql"),
    packages=("postgresql",),
)

if deploying(SERVICE):
    install(SERVICE)
    systemd.service(name="dms: PostgreSQL runs", service="postgresql", running=True, enabled=True)
    as_postgres = {"_sudo": True, "_sudo_user": "postgres"}
    postgres.role(name="dms: the service's database role", role=SERVICE.role, login=True,
                  **as_postgres)
    database = tenant_database(this_host())
    postgres.database(name=f"dms: the municipality's database {database}", database=database,
                      owner=SERVICE.role, encoding="UTF8", **as_postgres)
    serve(SERVICE)
