"""The start history lives with the spawner, which writes it (:mod:`hybridhub.spawner.starts`):
the spawner may not import the hub extension, the hub extension may read the spawner's files.
Re-exported here so the warm-up's modules keep one name for it."""

from hybridhub.spawner.starts import KEEP_DAYS, StartHistory, StartRecord, record_start

__all__ = ["KEEP_DAYS", "StartHistory", "StartRecord", "record_start"]
