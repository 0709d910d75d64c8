"""Secret values in local job logs become ``[MASKED]``, as GitLab's runner does for masked
variables (doc/ci/variables/_index.md, "Mask a CI/CD variable": values of 8 characters or
more). gitlab-ci-local masks nothing, so the local backend masks its logs itself: the kept copy
on disk, and every chunk the panel reads.

Masking is line by line (no pattern holds a newline), so the masked file is the masked lines
one after the other: a chunk that ends at a line end never cuts a secret, and an offset at a
line end means the same place in the live log (masked while read) and in the kept copy (masked
when written). The panel's offsets are positions in that masked text.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import Path
from typing import BinaryIO, Iterable, Mapping
from urllib.parse import quote, quote_plus

from hybridhub.spawner import envvars

MASK = b"[MASKED]"
MIN_LENGTH = 8  # GitLab refuses to mask shorter values
#: the secret variables local jobs get (service.py s3_job_env / model_job_env); the object
#: store's access key too, as envvars.py marks HYBRIDHUB_S3_ACCESS_KEY secret
SECRET_JOB_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                        "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")  # fmt: skip
SECRET_NAMES = frozenset(SECRET_JOB_VARIABLES) | envvars.SECRET_NAMES  # server-side names, if ever passed on


class Masker:
    """Replaces the values (and their URL-encoded forms) of 8+ characters by ``[MASKED]``."""

    def __init__(self, values: Iterable[str]) -> None:
        patterns = set()
        for value in values:
            for line in str(value).splitlines():  # GitLab masks no multi-line value; its lines here
                if len(line) >= MIN_LENGTH:
                    patterns.update(form.encode("utf-8") for form in (line, quote(line, safe=""), quote_plus(line, safe="")))
        ordered = sorted(patterns, key=len, reverse=True)  # the longest form first
        self._pattern = re.compile(b"|".join(re.escape(p) for p in ordered)) if ordered else None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Masker:
        return cls(v for k, v in env.items() if k in SECRET_NAMES and v)

    def mask(self, data: bytes) -> bytes:
        return self._pattern.sub(MASK, data) if self._pattern else data

    def mask_text(self, text: str) -> str:
        return self.mask(text.encode("utf-8")).decode("utf-8", "replace")

    def copy(self, source: BinaryIO, target: BinaryIO) -> None:
        """A whole log, masked line by line (never all of it in memory)."""
        for line in source:
            target.write(self.mask(line))


def _read_lines(handle: BinaryIO, size: int, rest: bool) -> bytes:
    """About ``size`` bytes ending at a line end (a longer line is read whole); the bytes after
    the last line end too only when ``rest`` (the file is final)."""
    data = handle.read(size)
    cut = data.rfind(b"\n") + 1
    if len(data) < size:  # the end of the file
        cut = len(data) if rest else cut
    while not cut:  # one line longer than a chunk: read on to its end
        more = handle.read(size)
        found = more.find(b"\n")
        data += more
        if found >= 0:
            cut = len(data) - len(more) + found + 1
        elif len(more) < size:
            cut = len(data) if rest else 0
            break
    handle.seek(cut - len(data), 1)
    return data[:cut]


class LiveReader:
    """Chunks of a log still written: raw position of each masked offset given out (a few
    hundred remembered; else found again by masking the log from its start)."""

    def __init__(self, remembered: int = 512) -> None:
        self._positions: OrderedDict[tuple, int] = OrderedDict()
        self._remembered = remembered

    def _raw_position(self, key: tuple, handle: BinaryIO, masker: Masker, offset: int) -> int | None:
        if offset == 0:
            return 0
        known = self._positions.get((*key, offset))
        if known is not None:
            return known
        raw = masked = 0
        for line in handle:
            raw += len(line)
            masked += len(masker.mask(line)) if line.endswith(b"\n") else 0
            if masked >= offset and line.endswith(b"\n"):
                return raw if masked == offset else None
        return None

    def read(self, key: tuple, path: Path, masker: Masker, offset: int, size: int, final: bool) -> tuple[bytes, int, bool]:
        """``(masked content, next offset, at the end)`` from masked ``offset``; whole lines
        only unless ``final`` (the job has finished: nothing more will be written)."""
        with path.open("rb") as handle:
            raw = self._raw_position(key, handle, masker, offset)
            if raw is None:  # not an offset given out: nothing (more may come while the job runs)
                return b"", offset, final
            handle.seek(raw)
            data = _read_lines(handle, size, final)
            at_end = handle.tell() >= path.stat().st_size
        content = masker.mask(data)
        next_offset = offset + len(content)
        self._positions[(*key, next_offset)] = raw + len(data)
        while len(self._positions) > self._remembered:
            self._positions.popitem(last=False)
        return content, next_offset, at_end


def read_kept(path: Path, masker: Masker, offset: int, size: int) -> tuple[bytes, int, bool]:
    """A kept log (already masked when written; masked again for one kept before masking)."""
    with path.open("rb") as handle:
        handle.seek(offset)
        data = _read_lines(handle, size, True)
        at_end = handle.tell() >= path.stat().st_size
    return masker.mask(data), offset + len(data), at_end
