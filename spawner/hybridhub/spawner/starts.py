"""The start history: one JSON object per GPU start, one line each, in a file the hub keeps.

The spawner writes it (:mod:`hybridhub.spawner.kube`); the hub's warm-up (issue 21) reads it.

Format (``warmup-starts.jsonl``, UTF-8, one object per line, oldest first)::

    {"user": "alice", "profile": "gpu-a10", "pool": "gpua10",
     "start": "2026-12-07T09:02:11+09:00", "weekday": 0, "cold": true, "wait_seconds": 412.0}

``start`` is ISO 8601 in the site's time zone (with its offset), ``weekday`` is Monday=0 ..
Sunday=6 in that zone, ``cold`` says whether the start needed a new node, ``wait_seconds`` is
how long the user waited until the server was ready.  Lines that do not parse are skipped on
read.  The file keeps the last ``keep_days`` days: each write rewrites it to a temporary file
and renames it over the old one, so a reader never sees half a line.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from traitlets import TraitError

KEEP_DAYS = 90


def site_zone(name: str) -> tzinfo:
    """The site's time zone from its IANA name; ValueError when unknown (for the settings' validators)."""
    if name == "UTC":
        return timezone.utc
    try:
        return ZoneInfo(name)
    except Exception:
        raise ValueError(f"unknown time zone {name!r}") from None


def valid_zone_name(name: str, setting: str) -> str:
    """For a traitlets validator: ``name`` when it is a known zone, else a TraitError naming ``setting``."""
    try:
        site_zone(name)
    except ValueError as e:
        raise TraitError(f"{setting}: {e}") from None
    return name


@dataclass(frozen=True)
class StartRecord:
    user: str
    profile: str
    pool: str
    start: datetime  # aware, in the site's time zone
    cold: bool
    wait_seconds: float

    @property
    def weekday(self) -> int:
        return self.start.weekday()

    def to_json(self) -> dict:
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["weekday"] = self.weekday
        data["wait_seconds"] = round(float(self.wait_seconds), 1)
        return data

    @classmethod
    def from_json(cls, data: dict) -> "StartRecord":
        start = datetime.fromisoformat(str(data["start"]))
        if start.tzinfo is None:
            raise ValueError("start has no time zone")
        return cls(str(data["user"]), str(data["profile"]), str(data["pool"]), start,
                   bool(data["cold"]), float(data["wait_seconds"]))


def json_lines(path: Path) -> list:
    """The objects of a JSON Lines file, oldest first; a missing file is empty, a damaged line is skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


class StartHistory:
    """The file, with a lock so the hub's threads append one at a time."""

    def __init__(self, path: str | os.PathLike, keep_days: int = KEEP_DAYS):
        self.path = Path(path)
        self.keep_days = keep_days
        self._lock = threading.Lock()

    def records(self) -> list[StartRecord]:
        out = []
        for data in json_lines(self.path):
            try:
                out.append(StartRecord.from_json(data))
            except (ValueError, KeyError, TypeError):
                continue  # a damaged line costs one start, never the history
        return out

    def append(self, record: StartRecord) -> None:
        with self._lock:
            horizon = record.start - timedelta(days=self.keep_days)
            kept = [r for r in self.records() if r.start >= horizon] + [record]
            tmp = self.path.with_name(self.path.name + ".tmp")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text("".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in kept),
                           encoding="utf-8")
            os.replace(tmp, self.path)


def record_start(history: StartHistory, user: str, profile: str, pool: str, started: datetime,
                 site_tz: tzinfo, cold: bool, wait_seconds: float) -> StartRecord:
    """Record one GPU start; ``started`` is any aware time, stored in the site's zone.

    :meth:`hybridhub.spawner.kube.HybridKubeSpawner._supervise` calls this once a GPU server is ready.
    """
    if started.tzinfo is None:
        raise ValueError("started must be an aware datetime")
    record = StartRecord(user, profile, pool, started.astimezone(site_tz), cold, wait_seconds)
    history.append(record)
    return record
