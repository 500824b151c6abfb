"""Which endpoint and token a stack's resources use, decided at run time in the provider process.

The platform and shared stacks use the administrator's token:
  1. PROXMOX_VE_ENDPOINT and PROXMOX_VE_API_TOKEN in the environment;
  2. else the stack config `partilha:proxmoxEndpoint` and the secret `partilha:proxmoxApiToken`
     (with `partilha:proxmoxCaFile`);
  3. else, in a lab env (the stack config says `partilha:lab: "true"`, which only the user puts
     there: partilha never guesses it), the local lab's admin token;
  4. else one error naming PROXMOX_VE_ENDPOINT and PROXMOX_VE_API_TOKEN.
A municipality stack names its token (`partilha:tokenStore`, e.g. `lab-abrantes`) and uses only
that token, from the token store: an administrator's token in the environment is ignored, so a
municipality stack can never act with more than its own ACLs. Its endpoint comes from the same
places as above.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from partilha.errors import UserError
from partilha.proxmox.endpoint import CA_FILE, ENDPOINT, TOKEN, Endpoint, from_env, lab_env
from partilha.proxmox.token_store import TokenStore
from partilha.workspace import Workspace

CONFIG = {ENDPOINT: "partilha:proxmoxEndpoint", TOKEN: "partilha:proxmoxApiToken",
          CA_FILE: "partilha:proxmoxCaFile"}
LAB, TOKEN_STORE = "partilha:lab", "partilha:tokenStore"
LAB_HINT = "a lab env is made by `partilha lab up`, or by `--lab` on its first `partilha up`"


def is_lab(value: object) -> bool:
    """The one reading of `partilha:lab`: a lab env, or not."""
    return str(value).lower() == "true"


def _admin_settings(config: Mapping[str, str], env: Mapping[str, str]) -> dict[str, str]:
    if env.get(ENDPOINT) and env.get(TOKEN):
        return {k: env[k] for k in (ENDPOINT, TOKEN, CA_FILE) if env.get(k)}
    if config.get(CONFIG[ENDPOINT]) and config.get(CONFIG[TOKEN]):
        return {k: str(config[c]) for k, c in CONFIG.items() if config.get(c)}
    if is_lab(config.get(LAB, "")):
        lab = Workspace.find().private / "lab"
        return lab_env(lab / "credentials.json", lab / "pve-ssl.pem")
    raise UserError(f"no Proxmox VE credentials: set {ENDPOINT} and {TOKEN} (or the stack config "
                    f"{CONFIG[ENDPOINT]} and the secret {CONFIG[TOKEN]}); {LAB_HINT}")


def _endpoint_settings(config: Mapping[str, str], env: Mapping[str, str]) -> dict[str, str]:
    """The endpoint and CA alone, for a stack that brings its own token."""
    if env.get(ENDPOINT):
        return {k: env[k] for k in (ENDPOINT, CA_FILE) if env.get(k)}
    if config.get(CONFIG[ENDPOINT]):
        return {k: str(config[c]) for k, c in CONFIG.items() if k != TOKEN and config.get(c)}
    if is_lab(config.get(LAB, "")):
        lab = Workspace.find().private / "lab"
        settings = lab_env(lab / "credentials.json", lab / "pve-ssl.pem")
        return {k: settings[k] for k in (ENDPOINT, CA_FILE)}
    raise UserError(f"no Proxmox VE endpoint: set {ENDPOINT} (or the stack config {CONFIG[ENDPOINT]}); "
                    f"{LAB_HINT}")


def resolve(config: Mapping[str, str], env: Mapping[str, str] | None = None,
            store: TokenStore | None = None) -> Endpoint:
    env = os.environ if env is None else env
    name = config.get(TOKEN_STORE)
    if not name:
        return from_env(_admin_settings(config, env))
    token = (store or TokenStore()).read(str(name))
    if token is None:
        raise UserError(f"no API token {name!r} in the token store: the platform stack makes it "
                        f"(`partilha up --only platform`)")
    return from_env({**_endpoint_settings(config, env), TOKEN: token})
