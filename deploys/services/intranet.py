"""Intranet municipal: a static site served by nginx with TLS."""

from deploys.services._web_service import WebService, deploy

SERVICE = WebService(role="intranet", title="Intranet municipal")

deploy(SERVICE)
