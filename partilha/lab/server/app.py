"""The lab's PVE API as a WSGI application (werkzeug), served over HTTPS by cheroot.

WSGI rather than ASGI because a WSGI status line carries any reason phrase, and PVE puts its
error messages there (`500 VM 100 is locked (backup)`), which clients such as proxmoxer report.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from partilha.lab.access import AccessError, AccessModel, token_secret_valid
from partilha.lab.instance import LabInstance
from partilha.lab.server.access_log import AccessLog
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError, from_access, unauthorized
from partilha.lab.server.faults import Injector
from partilha.lab.server.params import validate
from partilha.lab.server.router import Endpoint, Router
from partilha.lab.server.store import Store
from partilha.lab.server.tasks import TaskRunner
from partilha.lab.server.tickets import Tickets

PREFIX = "/api2/json"
log = logging.getLogger("partilha.lab.api")


class PveApi:
    def __init__(self, instance: LabInstance, store: Store, tickets: Tickets,
                 access: Callable[[Store], AccessModel], routers: Iterable[Router],
                 tasks: TaskRunner) -> None:
        self.instance, self.store, self.tickets, self.access = instance, store, tickets, access
        self.tasks = tasks
        self.faults = Injector(store)
        self.log = AccessLog(instance.state_dir)
        self.endpoints: dict[str, Endpoint] = {}
        rules = []
        for router in routers:
            for ep in router.endpoints:
                key = f"{ep.method} {ep.path}"
                self.endpoints[key] = ep
                rules.append(Rule(PREFIX + ep.rule, endpoint=key, methods=[ep.method]))
        self.map = Map(rules, strict_slashes=False, merge_slashes=False)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        request.environ["partilha.caller"] = request.environ["partilha.route"] = ""
        try:
            data = self.dispatch(request)
            response = _json({"data": data}, 200, "OK")
        except (PveError, AccessError) as exc:
            pve = exc if isinstance(exc, PveError) else from_access(exc)
            response = _json(pve.body(), pve.status, pve.message)
        except Exception as exc:
            log.exception("%s %s failed", request.method, request.path)
            response = _json({"data": None}, 500, str(exc) or type(exc).__name__)
        self.log.record(request.environ["partilha.caller"], request.method,
                        request.environ["partilha.route"], request.path.removeprefix(PREFIX),
                        response.status_code)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Any:
        adapter = self.map.bind_to_environ(request.environ)
        try:
            key, path_args = adapter.match()
        except (NotFound, MethodNotAllowed):
            raise PveError(f"Method '{request.method} {request.path.removeprefix(PREFIX)}' "
                           "not implemented", 501) from None
        endpoint = self.endpoints[key]
        request.environ["partilha.route"] = endpoint.path
        access = self.access(self.store)  # one snapshot per call, as PVE reads user.cfg once
        authid = self.authenticate(request, access) if endpoint.authenticated else ""
        request.environ["partilha.caller"] = authid
        # cheroot leaves an escaped slash (an IP set entry's "10.0.0.0%2F24") escaped; PVE unescapes
        path_args = {name: unquote(value) for name, value in path_args.items()}
        raw = {**_body(request), **request.args.to_dict(), **path_args}
        params = validate(endpoint.schema, raw)
        if endpoint.authenticated and (fault := self.faults.call_fault(path_args.get("vmid"))):
            raise PveError(fault)  # raised before the handler runs, so it changes nothing
        ctx = Ctx(self.store, self.instance, authid, access, self.tasks, self.tickets)
        return endpoint.handler(ctx, params)

    def authenticate(self, request: Request, access: AccessModel) -> str:
        """The caller's authid from an API token or a ticket (+ CSRF token on writes); a user
        or token disabled or expired since is refused with PVE's words."""
        header = request.headers.get("Authorization", "")
        if header.startswith("PVEAPIToken"):
            tokenid, _, secret = header[len("PVEAPIToken") + 1:].strip().rpartition("=")
            if "!" not in tokenid or not token_secret_valid(self.store, tokenid, secret):
                raise unauthorized("authentication failure")
            access.authenticate(tokenid)
            return tokenid
        ticket = unquote(request.cookies.get("PVEAuthCookie", ""))  # PVE unescapes it too
        if not ticket:
            raise unauthorized("No ticket")
        userid = self.tickets.verify(ticket)
        if userid is None:
            raise unauthorized("invalid PVE ticket")
        access.authenticate(userid)
        if request.method != "GET" and not self.tickets.verify_csrf(
                request.headers.get("CSRFPreventionToken", ""), userid):
            raise unauthorized("Permission denied - invalid csrf token")
        return userid


def _body(request: Request) -> dict[str, str]:
    if request.mimetype == "application/json":
        loaded = request.get_json(silent=True)
        if not isinstance(loaded, dict):
            raise PveError("invalid JSON body", 400)
        return {k: _plain(v) for k, v in loaded.items()}
    return request.form.to_dict()


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _json(body: Any, status: int, reason: str) -> Response:
    # A reason phrase is one line of text: PVE's messages may end in a newline.
    reason = " ".join(reason.split()) or "error"
    return Response(json.dumps(body), status=f"{status} {reason}",
                    content_type="application/json;charset=UTF-8")
