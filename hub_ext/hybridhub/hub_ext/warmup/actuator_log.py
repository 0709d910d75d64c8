"""Every warm-up that happened, with its cost and what it saved, for the cost page.

Format (``warmup-log.jsonl``, UTF-8, one object per line, appended when a placeholder ends)::

    {"pool": "gpua10", "window": "3f2a9c0d1e7b", "placeholder": "hybridhub-warmup-gpua10-3f2a9c0d1e7b",
     "start": "...", "end": "...",            # the planned window (ISO 8601, site zone)
     "created": "...", "ended": "...",        # when the placeholder was created and ended
     "node": "aks-gpua10-...-vmss000000" | null,
     "outcome": "used" | "wasted" | "never_joined" | "budget_stop",
     "reason": null | "budget_over" | ...,    # the budget stop's reason code (i18n.py)
     "origin": "plan" | "intent",             # the day's plan, or a GPU profile chosen on the spawn form
     "node_seconds": 1234.0, "cost": "25.60", "wait_saved_seconds": 420.0}

``node_seconds`` is the node time the warm-up paid for: from the placeholder's creation until a
user pod took the node (``used``), or until the release plus the pool's scale-down time (the
node stays that long before the autoscaler removes it; ``wasted``, ``budget_stop``); a node that
never joined costs nothing (Azure bills a VM from its allocation).  ``wait_saved_seconds`` is the
pool's cold-start median when used, else 0.  Labels and this file carry no user name.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from hybridhub.spawner.starts import json_lines

USED = "used"
WASTED = "wasted"
NEVER_JOINED = "never_joined"
BUDGET_STOP = "budget_stop"


class WarmupLog:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, entry: dict) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def entries(self) -> list[dict]:
        return [e for e in json_lines(self.path) if isinstance(e, dict)]
