"""Pulumi resources for Proxmox VE objects, as dynamic providers over partilha.proxmox.client."""
