"""A thin PVE client over proxmoxer: calls by path, PVE's transient failures retried until a
deadline, and UPID tasks waited for (a task ending in a transient error is run again).

    pve = Pve.connect(endpoint.from_env())
    pve.get("/nodes")
    pve.run("POST", "/nodes/pve1/lxc", vmid=101, ...)   # the call, then its task, until OK
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from partilha.proxmox.endpoint import Endpoint
from partilha.proxmox.retry import Backoff, DeadlineError, transient_exitstatus, with_retries

TASK_POLL = (0.2, 1.0)  # first and longest wait between task status polls, seconds (proxmoxer: 1 s)


class TaskFailedError(RuntimeError):
    """A PVE task ended in error; the message carries its exit status and the end of its log."""

    def __init__(self, upid: str, exitstatus: str, log_tail: list[str]) -> None:
        self.upid, self.exitstatus = upid, exitstatus
        tail = "\n".join(f"  {line}" for line in log_tail)
        super().__init__(f"task {upid} failed: {exitstatus}" + (f"\n{tail}" if tail else ""))


class NodeOfflineError(RuntimeError):
    """A call to a node the cluster reports offline: not transient, so never retried."""

    def __init__(self, node: str, what: str) -> None:
        self.node = node
        super().__init__(f"{what}: node {node} is offline (the cluster reports it so); its guests "
                         "come back with `partilha dr run restore-guest GUEST`")


class Pve:
    def __init__(self, api: ProxmoxAPI, backoff: Backoff | None = None) -> None:
        self.api = api
        self.backoff = backoff or Backoff()
        self.calls: Counter[str] = Counter()  # "METHOD /path" -> count, for benchmarks

    @classmethod
    def connect(cls, endpoint: Endpoint, backoff: Backoff | None = None) -> Pve:
        api = ProxmoxAPI(endpoint.host, port=endpoint.port, user=endpoint.user,
                         token_name=endpoint.token_name, token_value=endpoint.token_secret,
                         verify_ssl=str(endpoint.ca_file) if endpoint.ca_file else True,
                         timeout=30)
        return cls(api, backoff)

    def call(self, method: str, path: str, /, **params: Any) -> Any:
        """One API call, retried on PVE's transient failures until the deadline. `method` and
        `path` are positional only: PVE has parameters named `path` (ACL entries, storages)."""
        resource = self.api(path.strip("/"))  # type: ignore[operator]  # ProxmoxAPI.__call__ is dynamic
        verb = {"GET": resource.get, "POST": resource.post, "PUT": resource.put,
                "DELETE": resource.delete}[method]

        def once() -> Any:
            self.calls[f"{method} {path}"] += 1
            try:
                return verb(**params)
            except ResourceException as exc:
                # PVE's proxy answers 595 for a node it cannot reach: if the cluster says that
                # node is offline, waiting will not bring it back.
                node = _node_of(path)
                if exc.status_code == 595 and node and self._offline(node):
                    raise NodeOfflineError(node, f"{method} {path}") from None
                raise

        return with_retries(f"{method} {path}", once, self.backoff)

    def _offline(self, node: str) -> bool:
        try:
            nodes = self.api("nodes").get()  # type: ignore[operator]  # ProxmoxAPI.__call__ is dynamic
        except (ResourceException, OSError):
            return False
        return any(n.get("node") == node and n.get("status") == "offline" for n in nodes)

    def get(self, path: str, /, **params: Any) -> Any:
        return self.call("GET", path, **params)

    def wait(self, upid: str) -> dict[str, Any]:
        """The task's final status once it stopped. PVE answers "no such task" for a moment after
        a worker starts on another node: that is retried like any transient failure."""
        node = upid.split(":")[1]
        deadline = time.monotonic() + self.backoff.deadline
        delay = TASK_POLL[0]
        while True:
            try:
                status = dict(self.get(f"/nodes/{node}/tasks/{upid}/status"))
            except ResourceException as exc:
                if "no such task" not in str(exc.content) or time.monotonic() > deadline:
                    raise
                status = {"status": "unknown"}
            if status["status"] == "stopped":
                return status
            if time.monotonic() > deadline:
                raise DeadlineError(f"task {upid} still running after {self.backoff.deadline:g} s")
            time.sleep(delay)
            delay = min(delay * 1.5, TASK_POLL[1])

    def log_tail(self, upid: str, lines: int = 10) -> list[str]:
        node = upid.split(":")[1]
        return [str(entry["t"]) for entry in self.get(f"/nodes/{node}/tasks/{upid}/log")][-lines:]

    def run(self, method: str, path: str, /, **params: Any) -> dict[str, Any]:
        """A call that starts a task, then the task: run again while it ends in a transient error
        (a lock timeout in the worker), until OK or the deadline; TaskFailedError otherwise."""
        started = time.monotonic()
        while True:
            upid = str(self.call(method, path, **params))
            status = self.wait(upid)
            exitstatus = str(status.get("exitstatus", ""))
            if exitstatus == "OK" or exitstatus.startswith("WARNINGS"):
                return status
            if not transient_exitstatus(exitstatus) or time.monotonic() - started > self.backoff.deadline:
                raise TaskFailedError(upid, exitstatus, self.log_tail(upid))
            time.sleep(self.backoff.first)


def _node_of(path: str) -> str | None:
    """The node a `/nodes/{node}/...` path is served by."""
    parts = path.strip("/").split("/")
    return parts[1] if len(parts) > 1 and parts[0] == "nodes" else None
