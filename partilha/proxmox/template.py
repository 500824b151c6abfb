"""The container template every LXC guest is made from: Debian 12's standard template, by the
file name PVE's appliance index gives it and the volid `pveam download local ...` stores it
under. The lab offers it under the same volid, so the stacks name it the same way everywhere."""

TEMPLATE_FILE = "debian-12-standard_12.7-1_amd64.tar.zst"
LXC_TEMPLATE = f"local:vztmpl/{TEMPLATE_FILE}"
