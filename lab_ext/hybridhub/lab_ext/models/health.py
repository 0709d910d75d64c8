"""A production version's health over time (issue 20): the monitoring job's reports, read back.

The job (the template's ``ml/monitor.py``) writes one report per run next to the request log,
``<PREDICTION_LOG_URI>/<model>/<version>/monitoring/<YYYY-MM-DD>.json`` (schema
``hybridhub.monitoring/1``) and the same for people as ``.html``, and tags the version's run with
``hybridhub.monitoring.reports`` = that folder (the monitoring contract, §1–§3). Here the folder
is listed with the user's own storage client, the last ``MAX_REPORTS`` JSON reports are read
(parsed once per ETag: a poll re-reads nothing that did not change) and their daily entries
merged, a later report winning for a day both cover.

Store trouble never becomes a 5xx: the answer says it as reason codes of the catalog (MODELS) in
``problems`` beside what could be read. Nothing here knows jupyter-server.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import math
import os
import re
from collections import OrderedDict

from hybridhub.spawner import envvars

from .errors import ModelsError

SCHEMA = "hybridhub.monitoring/1"
REPORTS_TAG = "hybridhub.monitoring.reports"
MAX_REPORTS = 90
MAX_REPORT_BYTES = 4 * 1024 * 1024  # a report of 90 days x a few hundred features stays far below
MAX_FEATURES = 200  # per day, as the chart's table shows them
TIMEOUT = 20.0
STATUSES = ("ok", "alert", "no_data")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_NAME = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})\.(json|html)$")

#: the storage layer's codes (StorageError.reason) -> the Models panel's codes for the reports
_FROM_STORAGE = {
    "not_configured": "monitoring_not_configured",
    "access_denied": "monitoring_denied",
    "bad_credentials": "monitoring_denied",
    "outside_prefix": "monitoring_denied",
    "no_such_bucket": "monitoring_no_bucket",
    "no_such_key": "no_such_report",
}


def check_date(value) -> str:
    """A calendar date ``YYYY-MM-DD`` (nothing else can name a report), else ``invalid_request``."""
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            datetime.date.fromisoformat(value)
            return value
        except ValueError:
            pass
    raise ModelsError("invalid_request", details="date: a calendar date YYYY-MM-DD")


def location(tags: dict, name: str, version: str) -> tuple[str, str]:
    """(bucket, key prefix ending in '/') of the version's reports: its run's tag, else the
    server's request log (``HYBRIDHUB_PREDICTION_LOG_URI``) + ``/<model>/<version>/monitoring/``."""
    uri = (tags.get(REPORTS_TAG) or "").strip()
    if not uri:
        base = os.environ.get(envvars.PREDICTION_LOG_URI.name, "").strip().rstrip("/")
        if not base:
            raise ModelsError("monitoring_not_configured", details=f"no {REPORTS_TAG} tag and no {envvars.PREDICTION_LOG_URI.name}")
        uri = f"{base}/{name}/{version}/monitoring/"
    if not uri.startswith("s3://"):
        raise ModelsError("monitoring_not_configured", details="the reports' location is not an s3:// URI")
    bucket, _, prefix = uri[len("s3://"):].partition("/")
    prefix = prefix.strip("/")
    if not bucket or any(part in ("", ".", "..") for part in prefix.split("/") if prefix) or "\x00" in uri:
        raise ModelsError("monitoring_not_configured", details="the reports' location is not a valid s3:// URI")
    return bucket, (prefix + "/") if prefix else ""


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _day(entry) -> dict | None:
    """One daily entry as the panel charts it, or None when it is not one."""
    if not isinstance(entry, dict) or not isinstance(entry.get("date"), str) or not _DATE.fullmatch(entry["date"]):
        return None
    requests = entry.get("requests")
    features = entry.get("features") if isinstance(entry.get("features"), dict) else {}
    return {"date": entry["date"],
            "requests": requests if isinstance(requests, int) and not isinstance(requests, bool) and requests >= 0 else 0,
            "drift_share": _number(entry.get("drift_share")),
            "features": {str(k)[:200]: _number(v) for k, v in list(features.items())[:MAX_FEATURES]},
            "accuracy": _number(entry.get("accuracy"))}  # fmt: skip


def parse_report(raw: bytes) -> dict | None:
    """What the panel uses of a ``hybridhub.monitoring/1`` report (its days, status, alerts,
    thresholds, problems: not the window's whole drift result), or None for anything else."""
    try:
        report = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(report, dict) or report.get("schema") != SCHEMA or not isinstance(report.get("daily", []), list):
        return None
    kept = {k: report.get(k) for k in ("status", "alerts", "generated_at", "thresholds", "problems")}
    return {**kept, "daily": [day for day in map(_day, report.get("daily") or []) if day is not None]}


def merge(reports: list[tuple[str, dict]]) -> list[dict]:
    """The days of all ``(date, report)``, oldest first; for a day several reports cover, the
    report of the latest date wins (a re-run of the job the same day overwrote its own)."""
    days: dict[str, dict] = {}
    for _, report in sorted(reports, key=lambda r: r[0]):
        for entry in report.get("daily") or []:
            day = _day(entry)
            if day is not None:
                days[day["date"]] = day
    return [days[d] for d in sorted(days)]


def summary(date: str, report: dict, json_uri: str, has_html: bool) -> dict:
    """What the panel says of the latest report."""
    status = report.get("status") if report.get("status") in STATUSES else "no_data"
    alerts = [{"kind": str(a.get("kind", ""))[:64], "value": _number(a.get("value")), "threshold": _number(a.get("threshold"))}
              for a in (report.get("alerts") or []) if isinstance(a, dict)][:20]  # fmt: skip
    thresholds = report.get("thresholds") if isinstance(report.get("thresholds"), dict) else {}
    problems = [{"code": str(p.get("code", ""))[:64], "count": p.get("count") if isinstance(p.get("count"), int) else None}
                for p in (report.get("problems") or []) if isinstance(p, dict)][:20]  # fmt: skip
    generated = report.get("generated_at")
    return {"date": date, "status": status, "alerts": alerts,
            "generated_at": generated if isinstance(generated, str) else None, "json_uri": json_uri, "has_html": has_html,
            "thresholds": {"drift_share": _number(thresholds.get("drift_share")),
                           "min_accuracy": _number(thresholds.get("min_accuracy"))},
            "problems": problems}  # fmt: skip


def _storage_error(exc: BaseException) -> ModelsError:
    from ..storage.errors import translate

    reason = translate(exc).reason
    return ModelsError(_FROM_STORAGE.get(reason, "monitoring_unreachable"), details=f"the object store: {reason}")


def _configured(storage) -> bool:
    return storage is not None and all(getattr(storage, k, "") for k in ("endpoint", "access_key", "secret_key"))


class Reports:
    """The reports of the store as one user's storage settings see them; parsed reports kept by
    (bucket, key, ETag), at most ``cache_size`` of them."""

    def __init__(self, storage, cache_size: int = 4 * MAX_REPORTS) -> None:
        self.storage = storage
        self.cache: OrderedDict[tuple[str, str, str], dict | None] = OrderedDict()
        self.cache_size = cache_size
        self._client = None

    @property
    def client(self):
        if not _configured(self.storage):
            raise ModelsError("monitoring_not_configured", details="no object store is configured for this server")
        if self._client is None:
            from ..storage.client import make_client

            self._client = make_client(self.storage)
        return self._client

    def listing(self, bucket: str, prefix: str) -> dict[str, dict]:
        """date -> {"json": ETag or None, "html": bool} of the reports in the folder."""
        found: dict[str, dict] = {}
        try:
            for item in self.client.list_objects(bucket, prefix=prefix, recursive=False):
                match = _NAME.fullmatch(item.object_name[len(prefix):]) if not item.is_dir else None
                if match:
                    entry = found.setdefault(match[1], {"json": None, "html": False})
                    if match[2] == "json":
                        entry["json"] = (item.etag or "").strip('"') or "?"
                    else:
                        entry["html"] = True
        except ModelsError:
            raise
        except Exception as exc:  # noqa: BLE001 - minio's and urllib3's errors, translated
            raise _storage_error(exc) from None
        return found

    def read(self, bucket: str, key: str, limit: int = MAX_REPORT_BYTES) -> bytes:
        try:
            response = self.client.get_object(bucket, key, length=limit)
            try:
                return response.read(limit)
            finally:
                response.close()
                response.release_conn()
        except ModelsError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise _storage_error(exc) from None

    def report(self, bucket: str, key: str, etag: str) -> dict | None:
        cached = (bucket, key, etag)
        if cached in self.cache:
            self.cache.move_to_end(cached)
            return self.cache[cached]
        parsed = parse_report(self.read(bucket, key))
        self.cache[cached] = parsed
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return parsed

    def health(self, bucket: str, prefix: str) -> dict:
        """``{days, latest, problems}`` of the folder; store trouble as problems, never raised."""
        problems: list[dict] = []
        try:
            listed = self.listing(bucket, prefix)
        except ModelsError as exc:
            return {"days": [], "latest": None, "problems": [{"code": exc.reason, "details": exc.details}]}
        dates = sorted(d for d, e in listed.items() if e["json"])[-MAX_REPORTS:]
        reports: list[tuple[str, dict]] = []
        for date in dates:
            try:
                report = self.report(bucket, f"{prefix}{date}.json", listed[date]["json"])
            except ModelsError as exc:
                if exc.reason != "no_such_report":  # deleted since the listing: as if not listed
                    problems.append({"code": exc.reason, "details": exc.details, "date": date})
                continue
            if report is None:
                problems.append({"code": "monitoring_bad_report", "date": date})
            else:
                reports.append((date, report))
        latest = None
        if reports:
            date, report = reports[-1]
            latest = summary(date, report, f"s3://{bucket}/{prefix}{date}.json", listed[date]["html"])
        return {"days": merge(reports), "latest": latest, "problems": problems}

    def document(self, bucket: str, prefix: str, date: str, kind: str) -> bytes:
        """The report of ``date`` as ``kind`` (html or json); ``no_such_report`` when there is none."""
        return self.read(bucket, f"{prefix}{date}.{kind}")


async def in_thread(fn, *args):
    """A blocking store call with a deadline (the store's own deadlines are shorter)."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(fn, *args), TIMEOUT)
    except asyncio.TimeoutError:
        raise ModelsError("monitoring_unreachable", details=f"no answer within {TIMEOUT:.0f} s") from None


async def version_health(service, project: str, name: str, version: str) -> dict:
    """``GET models/health``: the version's health from its reports (the version must be one of
    the project's: ``no_such_version`` otherwise)."""
    found = await _version(service, project, name, version)
    try:
        bucket, prefix = location(found.tags, name, version)
    except ModelsError as exc:
        return {"days": [], "latest": None, "problems": [{"code": exc.reason, "details": exc.details}]}
    return await in_thread(_reports(service).health, bucket, prefix)


async def version_report(service, project: str, name: str, version: str, date: str, kind: str = "html") -> bytes:
    """``GET models/health/report``: the report of ``date`` (HTML for people, or its JSON)."""
    check_date(date)
    if kind not in ("html", "json"):
        raise ModelsError("invalid_request", details="format: html or json")
    found = await _version(service, project, name, version)
    bucket, prefix = location(found.tags, name, version)
    return await in_thread(_reports(service).document, bucket, prefix, date, kind)


async def _version(service, project: str, name: str, version: str):
    ctx = await service.context(project)
    found, _ = await service._version(ctx, name, version)  # checks name and version, then the registry
    return found


def _reports(service) -> Reports:
    """One :class:`Reports` per service (its parsed reports kept between polls)."""
    reports = getattr(service, "_health_reports", None)
    if reports is None or reports.storage is not service.storage:
        reports = Reports(service.storage)
        service._health_reports = reports
    return reports
