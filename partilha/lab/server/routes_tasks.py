"""/nodes/{node}/tasks: list, status and log of UPID tasks."""

from __future__ import annotations

from typing import Any

from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import param_error
from partilha.lab.server.params import NODE, Param
from partilha.lab.server.router import Router

routes = Router()
UPID = Param(optional=False, format="pve-task-upid")
SELECT = ("SELECT upid, node, pid, pstart, starttime, endtime, type, id, user, status, exitstatus "
          "FROM tasks WHERE node = ?")


def _owned(ctx: Ctx, task_user: str) -> bool:
    """PVE's `check_task_user`: a token sees its own tasks, a user also those of its tokens."""
    return ctx.authid == task_user or ctx.authid == task_user.partition("!")[0]


def _token_split(task: dict[str, Any]) -> dict[str, Any]:
    """PVE reports a token's task with `user` the user and `tokenid` the token's name."""
    user, bang, token = str(task["user"]).partition("!")
    return {**task, "user": user, "tokenid": token} if bang else task


def _task(ctx: Ctx, node: str, upid: str) -> dict[str, Any]:
    rows = ctx.store.query(f"{SELECT} AND upid = ?", node, upid)
    if not rows:
        raise param_error(upid="no such task")
    task = dict(rows[0])
    # Users see their own tasks; others need Sys.Audit on the node, as in PVE.
    if not _owned(ctx, task["user"]):
        ctx.require(f"/nodes/{node}", ["Sys.Audit"])
    if task["status"] == "running":
        del task["exitstatus"], task["endtime"]
    return _token_split(task)


@routes.route("GET", "/nodes/{node}/tasks/{upid}/status", {"node": NODE, "upid": UPID})
def task_status(ctx: Ctx, p: dict[str, Any]) -> Any:
    return _task(ctx, p["node"], p["upid"])


@routes.route("GET", "/nodes/{node}/tasks/{upid}/log", {
    "node": NODE, "upid": UPID, "start": Param("integer", minimum=0, default=0),
    "limit": Param("integer", minimum=0, default=50)})
def task_log(ctx: Ctx, p: dict[str, Any]) -> Any:
    _task(ctx, p["node"], p["upid"])
    rows = ctx.store.query("SELECT n, t FROM task_log WHERE upid = ? ORDER BY n LIMIT ? OFFSET ?",
                           p["upid"], int(p["limit"]), int(p["start"]))
    return [{"n": r["n"], "t": r["t"]} for r in rows]


@routes.route("GET", "/nodes/{node}/tasks", {
    "node": NODE, "start": Param("integer", minimum=0, default=0),
    "limit": Param("integer", minimum=0, default=50), "vmid": Param("integer", minimum=100),
    "typefilter": Param(), "userfilter": Param(), "errors": Param("boolean"),
    "source": Param(enum=("archive", "active", "all"), default="archive")})
def list_tasks(ctx: Ctx, p: dict[str, Any]) -> Any:
    rows = ctx.store.query(f"{SELECT} ORDER BY starttime DESC, pstart DESC",
                           p["node"])
    see_all = ctx.allowed(f"/nodes/{p['node']}", ["Sys.Audit"])
    out = []
    for row in rows:
        task = {k: v for k, v in dict(row).items() if v is not None}
        if task.pop("exitstatus", None) is not None:
            task["status"] = row["exitstatus"]
        wanted = (
            (see_all or _owned(ctx, task["user"]))
            and ("vmid" not in p or task["id"] == str(int(p["vmid"])))
            and ("typefilter" not in p or task["type"] == p["typefilter"])
            and ("userfilter" not in p or p["userfilter"] in task["user"])
            and (not p.get("errors") or task.get("status") not in ("OK", "running"))
            and (p["source"] != "active" or row["status"] == "running")
        )
        if wanted:
            out.append(_token_split(task))
    return out[int(p["start"]):int(p["start"]) + int(p["limit"])]
