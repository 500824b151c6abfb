"""What every route of the lab's PVE API shares: app, router, parameter formats, errors, tickets,
tasks, faults, the access log and the SQLite store. `python -m partilha.lab.server` runs it."""
