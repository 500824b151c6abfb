"""Users, passwords and API token secrets of the lab (PVE's user.cfg, shadow.cfg, token.cfg).

Passwords are kept as scrypt hashes and token secrets as SHA-256 hashes (they are random UUIDs),
so the state file holds nothing a client could log in with.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

from partilha.lab.server.store import Store

USER, TOKEN = "user", "token"
# PVE's permission check on every token route (API2::User): the user itself, or User.Modify on
# one of its groups. Both fail for a missing user, so anyone but root@pam (who skips the check)
# is refused (403) before being told "no such user".
TOKEN_OWNER = ["or", ["userid-param", "self"], ["userid-group", ["User.Modify"]]]


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    scheme, _, rest = stored.partition("$")
    salt, _, _ = rest.partition("$")
    if scheme != "scrypt" or not salt:
        return False
    return hmac.compare_digest(hash_password(password, bytes.fromhex(salt)), stored)


def password_valid(store: Store, userid: str, password: str) -> bool:
    """The user exists and the password is theirs; whether they may log in (enabled, not
    expired) is the access model's question."""
    user = store.get_object(USER, userid)
    return user is not None and password_matches(password, str(user.get("password", "")))


def create_token(store: Store, userid: str, tokenid: str, privsep: bool = True,
                 comment: str = "", expire: int = 0) -> str:
    """Store a new token; return its secret (shown once, as PVE does)."""
    secret = str(uuid.uuid4())
    store.put_object(TOKEN, f"{userid}!{tokenid}", {
        "privsep": int(privsep), "comment": comment, "expire": expire,
        "secret": hashlib.sha256(secret.encode()).hexdigest()})
    return secret


def token_secret_valid(store: Store, tokenid: str, secret: str) -> bool:
    """`tokenid` is `user@realm!name` and `secret` is its secret (activity: the access model)."""
    token = store.get_object(TOKEN, tokenid)
    return token is not None and hmac.compare_digest(
        hashlib.sha256(secret.encode()).hexdigest(), str(token.get("secret", "")))
