"""A small JSON file that survives restarts: written atomically (temp file, fsync, rename).

A crash at any point of :meth:`JsonStore.save` leaves either the old file or the new one, never a
half-written file: the data goes to a temporary file in the same directory, which is flushed and
fsync'ed and then renamed over the target with :func:`os.replace` (atomic on POSIX).  Leftover
temporary files from a crash are removed by the next save.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

MESSAGES = {
    "corrupt": "{path}: not a readable cost state ({reason})",
    "version": "{path}: state version {found} is not supported (expected {expected})",
}

TEMP_SUFFIX = ".tmp"


class StoreError(Exception):
    pass


class JsonStore:
    """One JSON document at ``path``, stamped with ``version``."""

    def __init__(self, path: str | os.PathLike, version: int = 1):
        self.path = Path(path)
        self.version = version

    def load(self) -> dict[str, Any] | None:
        """The stored document, or None when there is none yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StoreError(MESSAGES["corrupt"].format(path=self.path, reason=exc)) from None
        if not isinstance(doc, dict) or "data" not in doc:
            raise StoreError(MESSAGES["corrupt"].format(path=self.path, reason="no data"))
        if doc.get("version") != self.version:
            raise StoreError(MESSAGES["version"].format(path=self.path, found=doc.get("version"),
                                                        expected=self.version))
        return doc["data"]

    def save(self, data: dict[str, Any]) -> None:
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        self._remove_stale_temps()
        text = json.dumps({"version": self.version, "data": data}, ensure_ascii=False, separators=(",", ":"))
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=TEMP_SUFFIX, dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        self._fsync_directory(directory)

    def _remove_stale_temps(self) -> None:
        for stale in self.path.parent.glob(f".{self.path.name}.*{TEMP_SUFFIX}"):
            try:
                stale.unlink()
            except FileNotFoundError:
                pass

    @staticmethod
    def _fsync_directory(directory: Path) -> None:
        try:
            fd = os.open(directory, os.O_RDONLY)
        except OSError:  # pragma: no cover - platforms without directory fds
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
