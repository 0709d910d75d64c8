"""Server-side transfers between the workspace and the store, run in worker threads.

Each job has an id, a :class:`~.streams.Progress` and a state
(``running`` -> ``done`` | ``failed`` | ``cancelled``); the panel polls the list and may
cancel a job. Finished jobs are kept for a while so the panel can show their outcome.
"""

from __future__ import annotations

import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from .errors import Cancelled, StorageError, translate
from .streams import Progress

KEEP_FINISHED = 50


@dataclass
class Job:
    id: str
    direction: str  # "download" (store -> workspace) or "upload" (workspace -> store)
    bucket: str
    key: str
    path: str
    progress: Progress = field(default_factory=Progress)
    state: str = "running"
    error: StorageError | None = None
    result: dict | None = None
    created: float = field(default_factory=time.time)

    def to_json(self) -> dict:
        p = self.progress
        return {
            "id": self.id,
            "direction": self.direction,
            "bucket": self.bucket,
            "key": self.key,
            "path": self.path,
            "state": self.state,
            "total": p.total,
            "done": p.done,
            "speed": round(p.speed(), 1),
            "reason": self.error.reason if self.error else None,
            "message": self.error.message if self.error else None,
            "version_id": (self.result or {}).get("version_id"),
        }


class JobManager:
    def __init__(self, workers: int = 3):
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hybridhub-transfer")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(self, direction: str, bucket: str, key: str, path: str, work: Callable[[Progress], dict]) -> Job:
        job = Job(secrets.token_hex(8), direction, bucket, key, path)
        with self._lock:
            self._jobs[job.id] = job
            self._trim()
        self._executor.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Callable[[Progress], dict]) -> None:
        try:
            job.result = work(job.progress)
            job.state = "done"
        except BaseException as exc:  # noqa: BLE001 - recorded for the panel
            # a cancel breaks the job's connections: whatever error that caused, it was the cancel
            cancelled = job.progress.cancelled or not isinstance(exc, Exception)
            job.error = Cancelled() if cancelled else translate(exc)
            job.state = "cancelled" if isinstance(job.error, Cancelled) else "failed"
        finally:
            job.progress.finished = time.monotonic()

    def _trim(self) -> None:
        finished = [j for j in self._jobs.values() if j.state != "running"]
        for job in sorted(finished, key=lambda j: j.created)[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job.id]

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise StorageError("no_such_transfer", "There is no such transfer.")
        return job

    def list(self) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created)

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        job.progress.cancel()
        return job

    def forget(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job.state != "running":
                del self._jobs[job_id]

    def wait(self, job_id: str, timeout: float = 30.0) -> Job:
        """Block until the job ends (tests and benchmarks)."""
        job = self.get(job_id)
        deadline = time.monotonic() + timeout
        while job.state == "running" and time.monotonic() < deadline:
            time.sleep(0.02)
        return job

    def shutdown(self) -> None:
        for job in self.list():
            job.progress.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)
