"""The lab's PVE HTTP API: routes and formats, apart from state and realisation."""
