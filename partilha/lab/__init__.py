"""The lab: a local Proxmox VE, served through PVE's own HTTP API, with real LXC guests."""
