"""Atendimento multicanal: service-desk tickets kept by the records app in SQLite, behind nginx
with TLS."""

from deploys.services._web_service import App, WebService, deploy

SERVICE = WebService(role="crm", title="Atendimento multicanal", app=App("tickets"))

deploy(SERVICE)
