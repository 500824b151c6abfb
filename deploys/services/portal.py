"""Portal do munícipe: the citizens' portal and its e-forms (nginx with TLS on 443, port 80
redirecting to it), submissions kept by the records app in SQLite."""

from deploys.services._web_service import App, WebService, deploy

SERVICE = WebService(
    role="portal",
    title="Portal do munícipe",
    app=App("submissions"),
    static="portal",
    links=(("/forms/", "Formulários electrónicos"),),
)

deploy(SERVICE)
