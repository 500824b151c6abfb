"""The lab's state: one SQLite file per instance."""
