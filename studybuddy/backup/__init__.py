"""Backups: one archive of the store, its blobs and the configuration; restore into either store."""

from .archive import BackupError
from .create import create_backup, list_archives, prune, source_for
from .restore import MongoTarget, SqliteTarget, restore_backup, running_units, target_for, verify_backup

__all__ = ["BackupError", "MongoTarget", "SqliteTarget", "create_backup", "list_archives", "prune",
           "restore_backup", "running_units", "source_for", "target_for", "verify_backup"]
