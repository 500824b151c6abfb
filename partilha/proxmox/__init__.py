"""Talking to Proxmox VE: where the endpoint and token come from (never from state), PVE's
transient failures and how long to retry them, and UPID tasks."""
