"""What every partilha resource on Proxmox VE shares: when to create, read, update, replace or
delete, and with which credentials. Each resource type says how, in a small subclass.

- Inputs are stored in the outputs in the same normalised form that `read_live` returns from
  the live object, so a second `up` diffs equal (zero API calls) and `refresh` shows drift.
- Credentials are resolved in the provider process at run time (partilha.proxmox.credentials);
  the provider object has no attributes, so nothing secret is pickled into state.
- Every call goes through partilha.proxmox.client: PVE's transient failures are retried with
  backoff until a deadline, and UPID tasks are waited for. An object on a node the cluster
  reports offline keeps its state when read (refresh, up, preview finish in seconds and leave
  it as it was); changing it fails at once, naming the node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from proxmoxer.core import ResourceException
from pulumi.dynamic import (
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from partilha.proxmox import credentials
from partilha.proxmox.client import NodeOfflineError, Pve
from partilha.proxmox.retry import DeadlineError

PROVIDER_KEY = "__provider"
T = TypeVar("T")
Props = dict[str, Any]
DIGEST_ATTEMPTS = 5
_CONFIG_KEYS = (*credentials.CONFIG.values(), credentials.LAB, credentials.TOKEN_STORE)


def gone(exc: Exception) -> bool:
    """PVE's ways of saying the object does not exist (404s, and 500s, or 400s on the id parameter
    as a missing backup job's "No such job 'x'", with these words)."""
    if not isinstance(exc, ResourceException):
        return False
    text = f"{exc.status_message} {exc.content} {exc.errors or ''}".lower()
    return exc.status_code == 404 or any(words in text for words in (
        "does not exist", "no such", "not found", "doesn't exist", "unable to find"))


def unless_gone(call: Callable[[], T], owner_gone: Callable[[], bool] | None = None) -> T | None:
    """`call()`'s answer, or None when PVE says the object does not exist (for read_live).
    `owner_gone`: for an object whose owner (a guest, a user) PVE checks a permission on before
    its existence, and refuses (403) when the owner is missing: whether that 403 means the owner,
    and so the object, is gone; else it is a real refusal."""
    try:
        return call()
    except ResourceException as exc:
        if gone(exc) or (exc.status_code == 403 and owner_gone is not None and owner_gone()):
            return None
        raise


def locate(pve: Pve, vmid: int) -> dict[str, Any] | None:
    """The guest's `/cluster/resources` entry (node, type, pool, status), None when the caller sees
    no such guest (PVE lists a token only the guests it may audit)."""
    return next((dict(r) for r in pve.get("/cluster/resources", type="vm")
                 if int(r["vmid"]) == vmid), None)


def unless_guest_gone(pve: Pve, vmid: int, call: Callable[[], T]) -> T | None:
    """`call()`'s answer about something of guest `vmid` (its firewall, ...), None when the guest
    is gone. PVE checks the permission on /vms/<vmid> before the guest's existence, so a token
    scoped to a pool gets 403, not "does not exist", for a guest deleted behind its back: a 403
    for a vmid the caller no longer sees is that; for one it still sees, a real refusal."""
    return unless_gone(call, owner_gone=lambda: locate(pve, vmid) is None)


def create_or_take_over(create: Callable[[], object], take_over: Callable[[], object]) -> None:
    """`create()`; when PVE says the object already exists (left by a create that failed
    later), `take_over()` instead."""
    try:
        create()
    except ResourceException as exc:
        if "already exists" not in f"{exc.content} {exc.errors}":
            raise
        take_over()


def put_with_digest(pve: Pve, path: str, changes: Callable[[Props], dict[str, Any]]) -> Props:
    """Read the object at `path` and PUT the `changes(object)` it calls for with the digest it
    was read with; when PVE refuses because someone changed it meanwhile ("... by other user"),
    read it again and retry. The object as last read (nothing is written when no changes)."""
    for _ in range(DIGEST_ATTEMPTS):
        live = dict(pve.get(path))
        params = changes(live)
        if not params:
            return live
        try:
            pve.call("PUT", path, digest=live["digest"], **params)
            return live
        except ResourceException as exc:
            if "by other user" not in f"{exc.status_message} {exc.content}":
                raise
    raise DeadlineError(f"PUT {path}: changed by someone else before each of {DIGEST_ATTEMPTS} writes")


class PveProvider(ResourceProvider):
    """Subclasses implement create_live, read_live, update_live and delete_live."""

    serialize_as_secret_always = False  # the provider holds nothing secret (see above)
    replace_on: ClassVar[frozenset[str]] = frozenset()  # inputs PVE cannot change in place
    computed: ClassVar[frozenset[str]] = frozenset()  # outputs that are not inputs
    delete_before_replace: ClassVar[bool] = True  # PVE ids are names: the old one must go first

    def configure(self, req: ConfigureRequest) -> None:
        config = {}
        for key in _CONFIG_KEYS:
            value = req.config.get(key.partition(":")[2])
            if value is not None:
                config[key] = value
        self._config = config

    @property
    def pve(self) -> Pve:
        if getattr(self, "_pve", None) is None:
            self._pve = Pve.connect(credentials.resolve(getattr(self, "_config", {})))
        return self._pve

    # -- what subclasses implement ----------------------------------------------------------
    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        """Make the object; return its id and the computed outputs."""
        raise NotImplementedError

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        """The live object's values for the input keys (normalised), None when it is gone."""
        raise NotImplementedError

    def update_live(self, pve: Pve, id_: str, olds: Props, news: Props) -> Props:
        """Change the object in place; return the computed outputs."""
        raise NotImplementedError

    def delete_live(self, pve: Pve, id_: str, props: Props) -> None:
        raise NotImplementedError

    # -- the engine's side --------------------------------------------------------------------
    def diff(self, _id: str, olds: Props, news: Props) -> DiffResult:
        keys = (set(olds) | set(news)) - self.computed - {PROVIDER_KEY}
        changed = sorted(k for k in keys if olds.get(k) != news.get(k))
        replaces = [k for k in changed if k in self.replace_on]
        return DiffResult(changes=bool(changed), replaces=replaces,
                          delete_before_replace=bool(replaces) and self.delete_before_replace)

    def create(self, props: Props) -> CreateResult:
        inputs = _inputs(props)
        id_, computed = self.create_live(self.pve, inputs)
        return CreateResult(id_, {**inputs, **computed})

    def read(self, id_: str, props: Props) -> ReadResult:
        try:
            live = self.read_live(self.pve, id_, _inputs(props))
        except NodeOfflineError:  # nothing to learn from a dead node: its objects keep their state
            return ReadResult(id_, props)
        if live is None:
            return ReadResult("", {})  # gone: refresh drops it, the next up makes it again
        return ReadResult(id_, {**_inputs(props), **live})

    def update(self, id_: str, olds: Props, news: Props) -> UpdateResult:
        computed = self.update_live(self.pve, id_, _inputs(olds), _inputs(news))
        kept = {k: v for k, v in olds.items() if k in self.computed}
        return UpdateResult({**kept, **_inputs(news), **computed})

    def delete(self, id_: str, props: Props) -> None:
        try:
            self.delete_live(self.pve, id_, _inputs(props))
        except ResourceException as exc:
            if not gone(exc):
                raise


def _inputs(props: Props) -> Props:
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}
