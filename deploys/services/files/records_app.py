"""partilha's records service: the small application behind nginx on a service guest.

It keeps one collection of JSON records (e-form submissions, documents, invoices, tickets,
tenders) in SQLite or PostgreSQL and answers on 127.0.0.1 only; nginx terminates TLS in front.

    GET  /health               {"status": "ok", ...} after a real query on the store; 503 if not
    GET  /api/<collection>     the latest records
    POST /api/<collection>     a JSON object or an HTML form -> 201 {"id": n} (a form: 303 to
                               the page named by its `_next` field)

`records_app.py --digest` prints the sha256 of every record (id, created, body, in id order):
the data digest vzdump's hook records at backup time and `dr run verify-backups` compares.

Configuration comes from the environment (the systemd unit): PARTILHA_ROLE,
PARTILHA_COLLECTION, PARTILHA_STORE ("sqlite:<path>" or "postgresql:<database>", the latter
over the local socket as the service's own user), PARTILHA_PORT. Standard library only, plus
python3-psycopg2 for PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import threading
import urllib.parse
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ROLE = os.environ["PARTILHA_ROLE"]
COLLECTION = os.environ["PARTILHA_COLLECTION"]
STORE = os.environ["PARTILHA_STORE"]
PORT = int(os.environ.get("PARTILHA_PORT", "8080"))
MAX_BODY = 64 * 1024
LATEST = 50
SCHEMA = ("CREATE TABLE IF NOT EXISTS records (id {serial} PRIMARY KEY, created TEXT NOT NULL, "
          "body TEXT NOT NULL)")


class Store:
    """One table of records; a connection per statement (light traffic, nothing to go stale)."""

    def __init__(self, url: str) -> None:
        self.kind, _, self.target = url.partition(":")
        if self.kind not in ("sqlite", "postgresql") or not self.target:
            raise SystemExit(f"PARTILHA_STORE {url!r}: expected sqlite:<path> or postgresql:<db>")
        self.lock = threading.Lock()  # one statement at a time: light traffic, SQLite's writer
        self.run(SCHEMA.format(serial="SERIAL" if self.kind == "postgresql" else "INTEGER"))

    def connect(self) -> Any:
        if self.kind == "postgresql":
            import psycopg2  # Debian's python3-psycopg2, on the PostgreSQL guests only

            return psycopg2.connect(dbname=self.target)
        return sqlite3.connect(self.target)

    def run(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.kind == "sqlite":
            sql = sql.replace("%s", "?")
        with self.lock:
            db = self.connect()
            try:
                cursor = db.cursor()
                cursor.execute(sql, args)
                rows = list(cursor.fetchall()) if cursor.description else []
                db.commit()
                return rows
            finally:
                db.close()

    def add(self, record: dict[str, Any]) -> int:
        created = datetime.now(UTC).isoformat(timespec="seconds")
        body = json.dumps(record, ensure_ascii=False)
        if self.kind == "postgresql":
            return int(self.run("INSERT INTO records (created, body) VALUES (%s, %s) RETURNING id",
                                (created, body))[0][0])
        self.run("INSERT INTO records (created, body) VALUES (%s, %s)", (created, body))
        return int(self.run("SELECT max(id) FROM records")[0][0])


class Handler(BaseHTTPRequestHandler):
    store: Store
    server_version = f"partilha-{ROLE}"

    def reply(self, status: int, payload: dict[str, Any] | list[Any]) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path == "/health":
            try:
                count = self.store.run("SELECT count(*) FROM records")[0][0]
            except Exception as exc:  # the store is down: not healthy, say why
                self.reply(503, {"status": "error", "role": ROLE, "error": str(exc)})
                return
            self.reply(200, {"status": "ok", "role": ROLE, "store": self.store.kind,
                             "collection": COLLECTION, "records": count})
        elif path == f"/api/{COLLECTION}":
            rows = self.store.run("SELECT id, created, body FROM records ORDER BY id DESC LIMIT %s",
                                  (LATEST,))
            self.reply(200, [{"id": i, "created": c, **json.loads(b)} for i, c, b in rows])
        else:
            self.reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        if urllib.parse.urlsplit(self.path).path != f"/api/{COLLECTION}":
            self.reply(404, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.reply(413, {"error": f"at most {MAX_BODY} bytes"})
            return
        raw = self.rfile.read(length).decode("utf-8", "replace")
        form = self.headers.get_content_type() == "application/x-www-form-urlencoded"
        try:
            record = dict(urllib.parse.parse_qsl(raw)) if form else json.loads(raw)
        except ValueError:
            record = None
        if not isinstance(record, dict) or not record:
            self.reply(400, {"error": "send a JSON object or a form"})
            return
        after = str(record.pop("_next", "")) if form else ""
        new_id = self.store.add(record)
        if after.startswith("/") and not after.startswith("//"):
            self.send_response(303)
            self.send_header("Location", after)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.reply(201, {"id": new_id})


def digest(store: Store) -> str:
    rows = store.run("SELECT id, created, body FROM records ORDER BY id")
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()


def main() -> None:
    Handler.store = Store(STORE)
    if sys.argv[1:] == ["--digest"]:
        print(digest(Handler.store))
        return
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()


if __name__ == "__main__":
    main()
