"""Realisation layer of the lab: what the API's state becomes on this machine.

One concern per module: `template` (the Debian 12 root built once), `guests` (LXC system
containers on an overlay of the template), `network` (SDN zones and VNets as Linux bridges),
`firewall` (one nftables table per lab instance), `aptcache` (the package cache guests use).
Everything here is synchronous and idempotent where the name says `ensure`; callers (the API's
task workers) run it in threads.
"""
