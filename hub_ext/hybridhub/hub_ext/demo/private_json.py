"""Write a JSON file only its owner can read, atomically (the demo's keys and passwords)."""

from __future__ import annotations

import json
import os
from pathlib import Path


def write_private_json(path: Path, data) -> None:
    """Created 0600 under a temporary name, then renamed: never readable by others, never half-written."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)
