"""The monitoring job: the production model's request log of the last days against its training data.

    python ml/monitor.py [--end YYYY-MM-DD] [--out monitoring-report.json]

1. The version in production: GitLab's ``production`` environment (its last successful
   deployment, lib/api/environments.rb; the deploy job's artifact ``lineage.json``), or in a local
   run the local backend's ``environments/production.json`` and that pipeline's artifacts.
2. The reference: the training CSV at the object version lineage.json recorded (``data.train``).
   A version that is gone ends the job (exit 1, one line naming the URI and version).
3. The window: ``MONITOR_DAYS`` UTC days up to ``--end`` (today), one object per day
   (``<PREDICTION_LOG_URI>/<model>/<version>/<day>.jsonl``), each streamed (never held whole: a
   block of ``READ_SIZE`` bytes at a time, s3io.open_object) and folded by
   ``drift.drift_by_day`` (the window's statistics and each day's in the same pass); labels
   (``LABELS_URI``) joined on ``request_id`` as the lines go by.
4. The report (schema ``hybridhub.monitoring/1``): JSON and HTML to ``…/monitoring/<end>.json|html``
   (whole-object PUTs; the JSON last), the figures on the version's run in the registry, and
   ``monitoring-report.json`` here for the next step (ml/retrain.py).

Exit 0: a report was written (ok, alert or no data). Exit 1: the job could not do its work (store
down, reference gone, production not found): one line naming what failed. A failure while reading
leaves nothing of this run in the store; one while writing leaves at most the HTML page (the JSON
goes last); a registry that fails after the report was written leaves the report without the
figures. The next run reads the whole window again and replaces the day's report.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import drift  # noqa: E402
import monitor_labels  # noqa: E402
import monitor_report  # noqa: E402
import monitor_source  # noqa: E402
import s3io  # noqa: E402
from data import FEATURES, TARGET  # noqa: E402

SCHEMA = "hybridhub.monitoring/1"
REPORT_FILE = "monitoring-report.json"


class JobFailed(Exception):
    """The job cannot do its work: one line, exit 1."""


def setting(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value if value else default


def request_log_uri() -> str:
    """PREDICTION_LOG_URI; in a local run left empty, the user server's request-log location
    (HYBRIDHUB_PREDICTION_LOG_URI), as registry.py takes the server's tracking URI: the CI file's
    empty default outranks the job's process environment in gitlab-ci-local."""
    local = os.environ.get("HYBRIDHUB_LOCAL_RUN", "false") == "true"
    return setting("PREDICTION_LOG_URI", setting("HYBRIDHUB_PREDICTION_LOG_URI", "") if local else "")


def thresholds() -> dict:
    try:
        share = float(setting("MONITOR_DRIFT_SHARE", "0.5"))
        min_accuracy = setting("MONITOR_MIN_ACCURACY", "")
        return {"drift_share": share, "min_accuracy": float(min_accuracy) if min_accuracy else None}
    except ValueError:
        raise JobFailed("MONITOR_DRIFT_SHARE and MONITOR_MIN_ACCURACY must be numbers") from None


def window_days(end: datetime.date, days: int) -> list[str]:
    return [(end - datetime.timedelta(days=days - 1 - i)).isoformat() for i in range(days)]


def from_store(uri: str, call):
    """``call()`` (an s3io read of ``uri``), None when there is none (HTTP 404); any other failure
    fails the job."""
    try:
        return call()
    except SystemExit as exc:
        if s3io.missing(exc):
            return None
        raise JobFailed(f"the object store failed: {exc}") from None
    except OSError as exc:
        raise JobFailed(f"the object store failed: GET {uri}: {exc}") from None


def read_store(uri: str, version: str = "") -> bytes | None:
    """The object whole (small ones: the labels), None when there is none."""
    return from_store(uri, lambda: s3io.read_bytes(uri, version))


def open_store(uri: str):
    """The object as a binary stream (s3io.open_object, a day's log), None when there is none."""
    return from_store(uri, lambda: s3io.open_object(uri))


def load_reference(train: dict, problems: list) -> tuple[drift.Reference | None, dict]:
    """The training CSV at its recorded version; (None, …) when its columns are not the model's."""
    uri, version = train.get("uri") or "", train.get("version_id") or ""
    if not uri:
        raise JobFailed("the production version's lineage names no training data (data.train.uri)")
    try:
        content, read = s3io.read_object(uri, version)
    except SystemExit as exc:
        gone = str(exc).endswith(("HTTP 404", "HTTP 400"))
        what = f"{uri} version {version}" if version else uri
        raise JobFailed(f"the reference {what} {'is gone' if gone else 'cannot be read'}: {exc}") from None
    except OSError as exc:
        raise JobFailed(f"the reference {uri} cannot be read: {exc}") from None
    if not version:
        problems.append({"code": "reference_unversioned", "count": 1})
        if train.get("etag") and read.get("etag") and train["etag"] != read["etag"]:
            problems.append({"code": "reference_changed", "count": 1})
    info = {"uri": uri, "version_id": version, "rows": 0}
    try:
        reference = drift.Reference.from_csv(content, features=FEATURES, target=TARGET)
    except ValueError:
        return None, info
    info["rows"] = len(next(iter(reference.columns.values())))
    return reference, info


def stream_days(base: str, days: list[str], labels: monitor_labels.Join | None, read: list, missing: list):
    """(day, lines) of each day's object in turn, its lines read from the open stream as they are
    consumed (and past the labels' join on the way): one READ_SIZE block of a day held at a time."""
    for day in days:
        uri = f"{base}/{day}.jsonl"
        stream = open_store(uri)
        if stream is None:
            missing.append(day)
            continue
        with stream:
            read.append(day)
            lines = stream_lines(stream, uri)
            yield day, (labels.watch(day, lines) if labels else lines)


READ_SIZE = 1 << 20  # bytes asked of the stream at a time
MAX_LINE = 1 << 20  # a logged prediction is a few hundred bytes; a longer "line" is not one of them
OVERLONG = b"{overlong line"  # what stands for it: not JSON, so the statistics count it malformed


def stream_lines(stream, uri: str, size: int = READ_SIZE):
    """The lines of ``stream`` one by one, read ``size`` bytes at a time: a line split across two
    reads is joined, a last line without a newline is still a line, a line over MAX_LINE is handed
    on as OVERLONG (its bytes dropped as they come, never held). A read that fails fails the job."""
    rest, overlong = b"", False
    while True:
        try:
            block = stream.read(size)
        except SystemExit as exc:
            raise JobFailed(f"the object store failed: {exc}") from None
        except OSError as exc:
            raise JobFailed(f"the object store failed: GET {uri}: {exc}") from None
        if not block:
            break
        lines = (rest + block).split(b"\n")
        rest = lines.pop()
        if overlong and lines:
            lines[0], overlong = OVERLONG, False
        elif overlong:
            rest = b""
        yield from lines
        if len(rest) > MAX_LINE:
            rest, overlong = b"", True
    if overlong:
        yield OVERLONG
    elif rest:
        yield rest


def prediction_shift(reference: drift.Reference, result: dict) -> dict:
    """Before labels: the Jensen-Shannon distance of the predicted class shares against the
    reference's class shares (its labels), drift at drift.DISTANCE_THRESHOLD."""
    predictions = result.get("predictions") or {}
    current = predictions.get("class_shares") or {}
    if reference.predict is None or not current:
        return {"prediction_shift": None, "drift": False}
    import numpy as np

    values, counts = np.unique(reference.predict, return_counts=True)
    ref = {monitor_labels.class_key(v): c / counts.sum() for v, c in zip(values.tolist(), counts.tolist())}
    cur: dict[str, float] = {}
    for k, share in current.items():
        cur[monitor_labels.class_key(k)] = cur.get(monitor_labels.class_key(k), 0.0) + share
    keys = sorted(set(ref) | set(cur))
    score = drift.js_distance(np.array([ref.get(k, 0.0) for k in keys]), np.array([cur.get(k, 0.0) for k in keys]))
    return {"prediction_shift": score, "drift": bool(score >= drift.DISTANCE_THRESHOLD)}


def daily_entry(day: str, result: dict, labels: monitor_labels.Join | None) -> dict:
    features = {name: f.get("statistic") for name, f in (result.get("features") or {}).items()}
    entry = {"date": day, "requests": result["rows"]["lines"] - result["rows"]["skipped"]["malformed"],
             "rows": result["rows"]["read"], "drift_share": result.get("drift_share"), "features": features,
             "accuracy": None, "labelled": 0}  # fmt: skip
    if labels:
        entry.update(labels.day(day))
    return entry


def alerts_of(result: dict, accuracy: dict | None, limits: dict) -> list[dict]:
    alerts = []
    if result.get("drift_kind") == "schema_changed":
        alerts.append({"kind": "schema_changed", "value": result["rows"]["skipped"]["width"], "threshold": None})
    elif result.get("drift_share") is not None and result["drift_share"] >= limits["drift_share"]:
        alerts.append({"kind": "data_drift", "value": result["drift_share"], "threshold": limits["drift_share"]})
    if accuracy and accuracy["accuracy"] is not None and limits["min_accuracy"] is not None:
        if accuracy["accuracy"] < limits["min_accuracy"]:
            alerts.append({"kind": "accuracy", "value": accuracy["accuracy"], "threshold": limits["min_accuracy"]})
    return alerts


def schema_report(reason: str) -> dict:
    """drift()'s shape for a reference whose columns are not the model's features."""
    return {"dataset_drift": True, "drift_kind": "schema_changed", "no_data": False, "drift_share": None,
            "drifted_features": 0, "dataset_drift_threshold": drift.DRIFT_SHARE, "features": {}, "predictions": None,
            "rows": {"lines": 0, "read": 0, "skipped": {"malformed": 0, "width": 0}},
            "schema": {"reference_features": None, "current_features": FEATURES, "changed": True, "reason": reason,
                       "wrong_widths": {}}}  # fmt: skip


def build_report(production: dict, end: datetime.date, log_uri: str, now: datetime.datetime) -> dict:
    try:
        days = int(setting("MONITOR_DAYS", "7"))
    except ValueError:
        days = 0
    if days < 1:
        raise JobFailed("MONITOR_DAYS must be a whole number, 1 or more")
    limits, problems = thresholds(), []
    model, version = production["model"], production["version"]
    reference, reference_info = load_reference(production["train"], problems)
    labels_uri = setting("LABELS_URI", "")
    labels = monitor_labels.Join.load(labels_uri, read_store, problems) if labels_uri else None
    base = f"{log_uri.rstrip('/')}/{model}/{version}"
    read, missing, daily = [], [], []
    if reference is None:
        result = schema_report("the training data has no column(s) of the model's features")
    else:
        result, per_day = drift.drift_by_day(reference, stream_days(base, window_days(end, days), labels, read, missing),
                                             feature_names=FEATURES)  # fmt: skip
        daily = [daily_entry(day, per_day[day], labels) for day in read if day in per_day]
    accuracy = labels.summary(labels_uri) if labels else None
    skipped = result["rows"]["skipped"]
    for code, count in (("malformed_lines", skipped["malformed"]), ("wrong_width_rows", skipped["width"])):
        if count:
            problems.append({"code": code, "count": count})
    alerts = alerts_of(result, accuracy, limits)
    status = "alert" if alerts else ("no_data" if result.get("no_data") or not read else "ok")
    return {
        "schema": SCHEMA, "model": model, "version": version,
        "generated_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "window": {"days": days, "from": window_days(end, days)[0], "to": end.isoformat(), "read": read, "missing": missing},
        "reference": reference_info, "daily": daily, "drift": result, "accuracy": accuracy,
        "estimate": prediction_shift(reference, result) if reference else {"prediction_shift": None, "drift": False},
        "thresholds": limits, "alerts": alerts, "status": status, "problems": problems,
        "reports": f"{base}/monitoring/",
    }  # fmt: skip


def write_report(report: dict, out: Path) -> None:
    """HTML, then JSON (the report the panel lists) to the store; then the local artifact."""
    folder, day = report["reports"], report["window"]["to"]
    page = monitor_report.render(report, setting("MONITOR_LANG", "en")).encode("utf-8")
    document = (json.dumps(report, indent=1, sort_keys=True) + "\n").encode("utf-8")
    for suffix, data in (("html", page), ("json", document)):
        try:
            s3io.write_bytes(f"{folder}{day}.{suffix}", data)
        except (SystemExit, OSError) as exc:
            raise JobFailed(f"the object store failed: {exc}") from None
    temporary = out.with_name(f".{out.name}.tmp")
    temporary.write_bytes(document)
    os.replace(temporary, out)


def summary(report: dict) -> str:
    share = report["drift"].get("drift_share")
    kinds = ", ".join(a["kind"] for a in report["alerts"]) or "none"
    return (f"{report['model']} {report['version']}: {report['status']} (alerts: {kinds}); "
            f"{len(report['window']['read'])} of {report['window']['days']} days read, "
            f"drift share {'-' if share is None else f'{share:.2f}'}; report {report['reports']}{report['window']['to']}.json")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--end", default="", help="the window's last UTC day (default: today)")
    parser.add_argument("--out", default=REPORT_FILE, help="the report for the next step (a job artifact)")
    args = parser.parse_args(argv)
    now = datetime.datetime.now(datetime.timezone.utc)
    try:
        end = datetime.date.fromisoformat(args.end) if args.end else now.date()
        log_uri = request_log_uri()
        if not log_uri.startswith("s3://"):
            raise JobFailed("PREDICTION_LOG_URI is not set (s3://bucket/prefix): there is no request log to watch")
        production = monitor_source.production()
        print(f"watching {production['model']} {production['version']} ({production['source']})", flush=True)
        report = build_report(production, end, log_uri, now)
        write_report(report, Path(args.out))
        monitor_source.record_on_registry(production, report)
    except (JobFailed, monitor_source.SourceError) as exc:
        print(f"monitoring failed: {exc}", file=sys.stderr, flush=True)
        return 1
    print(summary(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
