"""The lab's API server process: `python -m partilha.lab.server STATE_DIR`.

cheroot serves the WSGI app over HTTPS on 127.0.0.1 only, with a pool of threads; SIGTERM stops
it cleanly after in-flight requests and running tasks.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from partilha.lab.access import load_access
from partilha.lab.backup import BackupScheduler
from partilha.lab.instance import LabInstance
from partilha.lab.server.app import PveApi
from partilha.lab.server.routers import ROUTERS
from partilha.lab.server.store import Store
from partilha.lab.server.tasks import TaskRunner
from partilha.lab.server.tickets import Tickets


def build_server(instance: LabInstance) -> tuple[wsgi.Server, TaskRunner]:
    store = Store(instance.db)
    key = store.meta("ticket_key")
    if key is None:
        raise SystemExit(f"{instance.db} is not initialised (run `partilha lab up`)")
    tasks = TaskRunner(store)
    api = PveApi(instance, store, Tickets(bytes.fromhex(key)), load_access, ROUTERS, tasks)
    server = wsgi.Server(("127.0.0.1", instance.port), api, numthreads=8,
                         server_name="pve-api-daemon/3.0")
    server.shutdown_timeout = 2
    server.ssl_adapter = BuiltinSSLAdapter(str(instance.cert), str(instance.key))
    return server, tasks


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    instance = LabInstance.load(Path(argv[0]))
    server, tasks = build_server(instance)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.prepare()
    serving = threading.Thread(target=server.serve, name="pve-api", daemon=True)
    serving.start()
    scheduler = BackupScheduler(instance, tasks)
    scheduler.start()
    stopping.wait()
    scheduler.stop()
    server.stop()  # from the main thread: closes the socket, lets in-flight requests finish
    tasks.shutdown()


if __name__ == "__main__":
    main(sys.argv[1:])
