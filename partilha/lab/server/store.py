"""The lab's state: one SQLite file per instance, shared by the API's threads.

Writes run in `BEGIN IMMEDIATE` transactions, so a check-then-write (the `nextid` test before a
create, a digest comparison before an update) sees no interleaved writer, exactly as PVE's file
locks serialise config changes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (
    name TEXT PRIMARY KEY, site TEXT NOT NULL, cpus INTEGER NOT NULL,
    memory_mib INTEGER NOT NULL, online INTEGER NOT NULL DEFAULT 1, ord INTEGER NOT NULL);
-- Section-config-like objects (users, groups, tokens, roles, pools, storage, sdn, backup jobs,
-- ha, firewall groups...): one row per object of a kind, its properties as JSON.
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL, ord INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS acl (
    path TEXT NOT NULL, ugid TEXT NOT NULL, type TEXT NOT NULL, roleid TEXT NOT NULL,
    propagate INTEGER NOT NULL, PRIMARY KEY (path, ugid, type, roleid));
CREATE TABLE IF NOT EXISTS guests (
    vmid INTEGER PRIMARY KEY, type TEXT NOT NULL, node TEXT NOT NULL, config TEXT NOT NULL,
    lock TEXT, status TEXT NOT NULL DEFAULT 'stopped', pool TEXT);
CREATE TABLE IF NOT EXISTS tasks (
    upid TEXT PRIMARY KEY, node TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL,
    user TEXT NOT NULL, pid INTEGER NOT NULL, pstart INTEGER NOT NULL,
    starttime INTEGER NOT NULL, endtime INTEGER, status TEXT NOT NULL, exitstatus TEXT);
CREATE TABLE IF NOT EXISTS task_log (
    upid TEXT NOT NULL, n INTEGER NOT NULL, t TEXT NOT NULL, PRIMARY KEY (upid, n));
"""


class Store:
    """A thread-safe handle on the state file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                     timeout=30)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._depth = 0
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(SCHEMA)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested calls join the outer one."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self._conn
            except BaseException:
                self._depth -= 1
                if outer:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._conn.execute("COMMIT")

    def query(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # meta

    def meta(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", key)
        return str(rows[0]["value"]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self.tx() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def delete_meta(self, key: str) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM meta WHERE key = ?", (key,))

    # objects

    def objects(self, kind: str) -> dict[str, dict[str, Any]]:
        rows = self.query("SELECT id, data FROM objects WHERE kind = ? ORDER BY ord, id", kind)
        return {r["id"]: json.loads(r["data"]) for r in rows}

    def get_object(self, kind: str, oid: str) -> dict[str, Any] | None:
        rows = self.query("SELECT data FROM objects WHERE kind = ? AND id = ?", kind, oid)
        return json.loads(rows[0]["data"]) if rows else None

    def put_object(self, kind: str, oid: str, data: dict[str, Any]) -> None:
        with self.tx() as db:
            db.execute(
                "INSERT INTO objects (kind, id, data, ord) VALUES (?, ?, ?, "
                "(SELECT COALESCE(MAX(ord), 0) + 1 FROM objects WHERE kind = ?)) "
                "ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data",
                (kind, oid, json.dumps(data, sort_keys=True), kind))

    def delete_object(self, kind: str, oid: str) -> bool:
        with self.tx() as db:
            return db.execute("DELETE FROM objects WHERE kind = ? AND id = ?",
                              (kind, oid)).rowcount > 0
