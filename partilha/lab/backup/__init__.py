"""Backups: vzdump archives, restores, prune, backup jobs (`/cluster/backup`) and their scheduler.
`__all__` is what the rest of the lab may use: the restore of an archive, prune's keep-options and
the scheduler."""

from partilha.lab.backup import guest_restore, prune
from partilha.lab.backup.scheduler import BackupScheduler

__all__ = ["BackupScheduler", "guest_restore", "prune"]
