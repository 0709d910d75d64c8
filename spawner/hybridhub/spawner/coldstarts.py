"""Measured cold starts per pool, kept across hub restarts, for honest ETAs.

A cold start is one that needed a new node. The ETA is the median of the last measurements,
or the pool's configured usual time until the first one is measured.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
from pathlib import Path

KEEP = 20


class ColdStartHistory:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._data: dict[str, list[float]] = self._load()

    def _load(self) -> dict[str, list[float]]:
        try:
            raw = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return {str(k): [float(x) for x in v][-KEEP:] for k, v in raw.items() if isinstance(v, list)}

    def record(self, pool: str, seconds: float) -> None:
        with self._lock:
            self._data.setdefault(pool, []).append(round(float(seconds), 1))
            self._data[pool] = self._data[pool][-KEEP:]
            tmp = self.path.with_name(self.path.name + ".tmp")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self._data, indent=1))
            os.replace(tmp, self.path)

    def eta(self, pool: str, fallback: float) -> float:
        with self._lock:
            measured = self._data.get(pool)
            return statistics.median(measured) if measured else float(fallback)

    def measurements(self, pool: str) -> list[float]:
        with self._lock:
            return list(self._data.get(pool, []))
