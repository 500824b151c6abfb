"""Faturação electrónica: invoices kept by the records app in SQLite, behind nginx with TLS."""

from deploys.services._web_service import App, WebService, deploy

SERVICE = WebService(role="einvoice", title="Faturação electrónica", app=App("invoices"))

deploy(SERVICE)
