"""Local pipelines on disk: ``<workspace>/.hybridhub/pipelines/<id>/``.

Each run keeps ``pipeline.json`` (the record: no secrets, only what the user typed),
``src/`` (a shared clone at the pipeline's commit, where gitlab-ci-local keeps its state in
``src/.gitlab-ci-local/``) and ``logs/<job id>.log`` (the logs of finished jobs).
"""

from __future__ import annotations

import calendar
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from .errors import PipelineError

STORE_DIR = ".hybridhub/pipelines"
KEEP = 30


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def iso_to_epoch(value: str | None) -> float | None:
    if not value:
        return None
    return float(calendar.timegm(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ")))


class PipelineStore:
    def __init__(self, root: str | os.PathLike) -> None:
        self.base = Path(os.path.realpath(root)) / STORE_DIR

    def ensure(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        ignore = self.base / ".gitignore"
        if not ignore.exists():  # runs, clones and logs never show up in the user's git status
            ignore.write_text("*\n", encoding="utf-8")

    def run_dir(self, pipeline_id: int) -> Path:
        return self.base / str(int(pipeline_id))

    def ids(self) -> list[int]:
        if not self.base.is_dir():
            return []
        return sorted((int(p.name) for p in self.base.iterdir() if p.name.isdigit() and p.is_dir()), reverse=True)

    def next_id(self) -> int:
        self.ensure()
        ids = self.ids()
        candidate = (ids[0] if ids else 0) + 1
        while True:
            try:
                self.run_dir(candidate).mkdir()
                return candidate
            except FileExistsError:
                candidate += 1

    def load(self, pipeline_id: int) -> dict:
        path = self.run_dir(pipeline_id) / "pipeline.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise PipelineError("unknown_pipeline") from None

    def save(self, record: dict) -> None:
        directory = self.run_dir(record["id"])
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".pipeline-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=1)
        os.replace(tmp, directory / "pipeline.json")

    def records(self, project: str | None = None, limit: int = 20) -> list[dict]:
        found = []
        for pipeline_id in self.ids():
            try:
                record = self.load(pipeline_id)
            except PipelineError:
                continue
            if project is None or record.get("project") == project:
                found.append(record)
            if len(found) >= limit:
                break
        return found

    def prune(self, active: set[int]) -> None:
        """Keep the newest runs; older clones and logs go (their records too)."""
        for pipeline_id in self.ids()[KEEP:]:
            if pipeline_id not in active:
                shutil.rmtree(self.run_dir(pipeline_id), ignore_errors=True)


def read_metrics(src: Path) -> dict | None:
    """Numbers from the newest ``metrics.json`` among the jobs' artifacts.

    The template writes ``{"metrics": {...}, ...}``; a flat object of numbers works too.
    """
    artifacts = src / ".gitlab-ci-local" / "artifacts"
    if not artifacts.is_dir():
        return None
    candidates = sorted(artifacts.glob("*/metrics.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in candidates:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        values = data.get("metrics", data) if isinstance(data, dict) else None
        if isinstance(values, dict):
            numbers = {k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            if numbers:
                return numbers
    return None
