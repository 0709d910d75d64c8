"""The prediction request log of the model server: one JSON line per prediction, one object a day.

    <PREDICTION_LOG_URI>/<model>/<version>/<YYYY-MM-DD>.jsonl      (UTC day)

Each line: {"id", "ts", "model", "version", "request_id", "inputs": [[...]], "outputs":
{"predict": [...], "predict_proba": [[...]]}}. ``id`` is unique per line (merging uses it);
``request_id`` is the V2 inference request's id (what labels are joined on later).

Why a spool and whole-object uploads: S3 has no append, and a PUT of a whole object is atomic
(a reader sees the old day or the new day, never half). So a prediction only queues its
record; the log's thread makes it a line, appends it to a local spool file
(``PREDICTION_LOG_SPOOL_DIR``) within milliseconds, and uploads the day's object every
``PREDICTION_LOG_INTERVAL`` seconds when there is something new, and once more at unload or
interpreter exit. Each upload reads the object back first and adds the lines it
lacks (by ``id``): a restarted server the same day keeps the earlier lines, a second server of
the same version (a replica, or the old one draining during a swap) is merged, not overwritten.
The object is re-checked every ``VERIFY_SECONDS`` so a line lost to a concurrent writer comes
back. A store that is down never fails or slows a prediction: the attempt is counted
(``prediction_log_failures_total``), logged once with its reason (never a key), and retried.

Standard library and the project's ``s3io`` (SigV4); copied into the model folder with the
runtime (``serving_runtime.py``) by ``model_files.write``.
"""

from __future__ import annotations

import atexit
import datetime
import json
import logging
import os
import queue
import re
import tempfile
import threading
import time
import uuid
from pathlib import Path

import s3io

log = logging.getLogger("mlserver.prediction_log")
VERIFY_SECONDS = 60.0
STORE_TIMEOUT = 10.0  # seconds per store request: a hanging store must not hold the exit for long
_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9._~/-]*)?$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ID = re.compile(rb'^\{"id": "([0-9a-f]{32})"', re.M)


def now() -> datetime.datetime:
    """The clock of the log (tests patch it to cross a day boundary)."""
    return datetime.datetime.now(datetime.timezone.utc)


def _counter(name: str, documentation: str):
    """A counter in prometheus_client's default registry, which MLServer's /metrics serves with
    parallel_workers=0 (mlserver/metrics/prometheus.py, PrometheusEndpoint._registry; a metric of
    mlserver.register() is a Histogram in MLServer's own registry, exported only with parallel
    workers: SeldonIO/MLServer#1151). Labelled like MLServer's model metrics. Registered once per
    process: a second import finds it (by name, as mlserver/metrics/registry.py looks metrics up)."""
    from prometheus_client import REGISTRY, Counter

    try:
        return Counter(name, documentation, ["model_name", "model_version"])
    except ValueError:  # already registered by an earlier import of this module
        return REGISTRY._names_to_collectors[name]


class _Counters:
    """``prediction_log_records_total`` and ``prediction_log_failures_total`` of one model version."""

    def __init__(self, model: str, version: str):
        try:
            records = _counter("prediction_log_records", "Predictions written to the request log spool")
            failures = _counter("prediction_log_failures", "Prediction log writes or uploads that failed")
        except ImportError:  # outside MLServer (a script): nothing to export
            self.records = self.failures = None
            return
        self.records, self.failures = records.labels(model, version), failures.labels(model, version)


class PredictionLog:
    """Spool and upload the request log of one model version."""

    def __init__(self, uri: str, model: str, version: str, spool: str | os.PathLike, interval: float = 5.0):
        if not _URI.match(uri):
            raise ValueError(f"PREDICTION_LOG_URI must be s3://bucket/prefix, not {uri[:80]!r}")
        if not (_NAME.match(model) and _NAME.match(version)):
            raise ValueError("the model name and version must be letters, digits, '.', '_' or '-'")
        self.base = f"{uri.rstrip('/')}/{model}/{version}"
        self.model, self.version, self.interval = model, version, interval
        self.spool = Path(spool) / model / version
        self.spool.mkdir(parents=True, exist_ok=True)
        self.counters = _Counters(model, version)
        self.failures = 0
        self._failing = False
        self._lock = threading.Lock()
        # days with lines the store may lack: spool files left by an earlier run count too
        self._pending = {_cut_partial_line(p) for p in self.spool.glob("*.jsonl")}
        self._checked: dict[str, float] = {}
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._writing = threading.Lock()  # one writer of queued lines at a time: their order is kept
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"prediction-log-{model}-{version}", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def object_uri(self, day: str) -> str:
        return f"{self.base}/{day}.jsonl"

    # ---- the request path: queue only, never raise --------------------------------------
    def record(self, inputs, outputs: dict, request_id: str | None = None, complete=None) -> None:
        """Queue one prediction: its time now, the rest made into a line by the log's thread
        (``complete(inputs, outputs)`` may add outputs the answer lacked, off the request path)."""
        self._queue.put((now(), inputs, outputs, request_id, complete))

    # ---- the log's thread: lines to the spool, the spool to the store ------------------
    def _run(self) -> None:
        due = time.monotonic() + self.interval
        while not self._stop.is_set():
            try:
                self._write(self._queue.get(timeout=max(0.0, due - time.monotonic())))
            except queue.Empty:
                pass
            if time.monotonic() >= due:
                self.flush()
                due = time.monotonic() + self.interval

    def _write(self, first=None) -> None:
        """Append the queued lines to their day's spool file (one open per day and batch)."""
        with self._writing:
            items = [first] if first is not None else []
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            by_day: dict[str, list[str]] = {}
            for item in items:
                if item is _WAKE:
                    continue
                try:
                    stamp, day_line = item[0], self._line(*item)
                except Exception as exc:  # noqa: BLE001 - one odd request does not stop the log
                    self.count_failure(f"cannot make a log line: {type(exc).__name__}: {str(exc)[:200]}")
                    continue
                by_day.setdefault(stamp.date().isoformat(), []).append(day_line)
            for day, lines in by_day.items():
                try:
                    with self._lock, open(self.spool / f"{day}.jsonl", "a", encoding="utf-8") as spool:
                        spool.write("".join(lines))
                        self._pending.add(day)
                except OSError as exc:
                    self.count_failure(f"cannot write the spool in {self.spool}: {exc}")
                    continue
                if self.counters.records is not None:
                    self.counters.records.inc(len(lines))

    def _line(self, stamp, inputs, outputs: dict, request_id, complete) -> str:
        if complete is not None:
            outputs = complete(inputs, outputs)
        return json.dumps({
            "id": uuid.uuid4().hex, "ts": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "model": self.model, "version": self.version, "request_id": request_id,
            "inputs": _plain(inputs), "outputs": {k: _plain(v) for k, v in outputs.items()},
        }) + "\n"  # fmt: skip

    def flush(self, verify: bool = False) -> bool:
        """Write what is queued, then upload every day with new lines (and today's once a minute,
        to verify); True when all went through."""
        self._write()
        today = now().date().isoformat()
        with self._lock:
            days = set(self._pending)
        if (verify or time.monotonic() - self._checked.get(today, 0.0) > VERIFY_SECONDS) and (
            self.spool / f"{today}.jsonl"
        ).is_file():
            days.add(today)
        ok = True
        for day in sorted(days):
            ok = self._upload(day, today) and ok
        return ok

    def _upload(self, day: str, today: str) -> bool:
        path = self.spool / f"{day}.jsonl"
        with self._lock:
            self._pending.discard(day)
            mine = path.read_bytes() if path.is_file() else b""
        try:
            remote = _get(self.object_uri(day))
            known = set(_ID.findall(remote))
            ids = ((line, _line_id(line)) for line in mine.splitlines(keepends=True))
            missing = [line for line, line_id in ids if line_id is not None and line_id not in known]
            if missing:
                if remote and not remote.endswith(b"\n"):
                    remote += b"\n"
                _put(self.object_uri(day), remote + b"".join(missing))
        except _StoreError as exc:
            with self._lock:
                self._pending.add(day)
            self.count_failure(str(exc))
            return False
        self._checked[day] = time.monotonic()
        if self._failing:
            self._failing = False
            log.info("prediction log: working again; %s is up to date", self.object_uri(day))
        if day < today:  # a past day, complete in the store: its spool is no longer needed
            with self._lock:
                if day not in self._pending:
                    path.unlink(missing_ok=True)
        return True

    def count_failure(self, reason: str) -> None:
        self.failures += 1
        if self.counters.failures is not None:
            self.counters.failures.inc()
        if not self._failing:
            self._failing = True
            log.warning("prediction log: %s (predictions go on; retried every %g s)", reason, self.interval)

    def close(self) -> None:
        """Stop the thread and upload what is new (unload, shutdown); idempotent."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._queue.put(_WAKE)
        self._thread.join(timeout=2 * STORE_TIMEOUT)
        self.flush()


_WAKE = object()  # queued by close(): the thread stops waiting


def _plain(value):
    """JSON-ready: numpy arrays and pandas frames as nested lists."""
    value = value.to_numpy() if hasattr(value, "to_numpy") else value
    return value.tolist() if hasattr(value, "tolist") else value


def _cut_partial_line(path: Path) -> str:
    """A spool left by a crash may end in half a line: cut it so the next line starts clean."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as spool:
            spool.truncate(data.rfind(b"\n") + 1)
    return path.stem


def _line_id(line: bytes) -> bytes | None:
    """The id of a complete line of the spool (a line cut short by a crash has none)."""
    found = _ID.match(line) if line.endswith(b"\n") else None
    return found.group(1) if found else None


class _StoreError(Exception):
    pass


def _get(uri: str) -> bytes:
    """The object, or b"" when there is none yet (HTTP 404)."""
    try:
        return s3io.read_bytes(uri)
    except SystemExit as exc:  # s3io reports failures as SystemExit with the URI and status
        if s3io.missing(exc):
            return b""
        raise _StoreError(str(exc)) from None
    except OSError as exc:
        raise _StoreError(f"GET {uri} failed: {exc}") from None


def _put(uri: str, data: bytes) -> None:
    try:
        s3io.write_bytes(uri, data)
    except SystemExit as exc:
        raise _StoreError(str(exc)) from None
    except OSError as exc:
        raise _StoreError(f"PUT {uri} failed: {exc}") from None


def from_env(model: str, version: str) -> PredictionLog | None:
    """The log configured by PREDICTION_LOG_URI (unset or empty: no log, no error)."""
    uri = os.environ.get("PREDICTION_LOG_URI", "").strip()
    if not uri:
        log.info("prediction log: PREDICTION_LOG_URI is not set; predictions are not logged")
        return None
    s3io.TIMEOUT = STORE_TIMEOUT  # this process uses s3io for the log only
    spool = os.environ.get("PREDICTION_LOG_SPOOL_DIR") or os.path.join(tempfile.gettempdir(), "prediction-log")
    interval = float(os.environ.get("PREDICTION_LOG_INTERVAL", "5") or 5)
    prediction_log = PredictionLog(uri, model, version, spool, interval=max(interval, 0.1))
    log.info("prediction log: each prediction goes to %s/<day>.jsonl", prediction_log.base)
    return prediction_log
