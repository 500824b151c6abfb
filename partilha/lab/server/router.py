"""Declaring API endpoints: method, PVE path, parameter schema, handler."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from partilha.lab.server.params import Param

if TYPE_CHECKING:
    from partilha.lab.server.context import Ctx

Handler = Callable[["Ctx", dict[str, Any]], Any]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # PVE style: /nodes/{node}/lxc/{vmid}; {name:path} also takes slashes (volume IDs)
    schema: Mapping[str, Param]
    handler: Handler
    authenticated: bool = True

    @property
    def rule(self) -> str:
        """The path as a werkzeug rule."""
        return re.sub(r"\{(\w+)(?::path)?\}",
                      lambda m: f"<{'path:' if m.group(0).endswith(':path}') else ''}{m.group(1)}>",
                      self.path)


@dataclass
class Router:
    endpoints: list[Endpoint] = field(default_factory=list)

    def route(self, method: str, path: str, schema: Mapping[str, Param] | None = None,
              authenticated: bool = True) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(Endpoint(method, path, dict(schema or {}), handler,
                                           authenticated))
            return handler
        return register
