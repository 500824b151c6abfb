"""Backups: vzdump archives, restores, prune, backup jobs (`/cluster/backup`) and their scheduler."""
