"""Contratação pública electrónica (the CIM's, shared by its municipalities): tenders kept by the
records app in SQLite, behind nginx with TLS."""

from deploys.services._web_service import App, WebService, deploy

SERVICE = WebService(role="eprocurement", title="Contratação pública electrónica", app=App("tenders"))

deploy(SERVICE)
