"""Accuracy from labels that arrive later: ``LABELS_URI`` (CSV or JSON Lines, columns request_id,label)
joined on the request log's ``request_id`` while the log's lines go by.

The labels are held in memory (request_id -> label: one small entry per labelled request; the
labels file is bounded by what people label, the log is not). Only log lines whose request_id
has a label are parsed here. A label is compared with the request's prediction when the request
had one row; requests of several rows cannot take a single label (counted: ``labels_multi_row``).
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Callable, Iterable, Iterator

_REQUEST_ID = re.compile(rb'"request_id": "((?:[^"\\]|\\.)*)"')


def class_key(value) -> str:
    """A label or class as text: 1, 1.0 and "1" alike."""
    try:
        number = float(value)
        return str(int(number)) if number.is_integer() else str(number)
    except (TypeError, ValueError):
        return str(value)


class Join:
    def __init__(self, labels: dict[str, str], problems: list):
        self.labels, self.problems = labels, problems
        self.days: dict[str, list[int]] = {}  # day -> [labelled, correct]
        self.multi_row = 0

    @classmethod
    def load(cls, uri: str, read: Callable[[str], bytes | None], problems: list) -> Join:
        """The labels at ``uri`` (``read`` fails the job when the store is down); none there: empty."""
        data = read(uri) if uri.startswith("s3://") else _read_path(uri)
        labels, bad = parse(data or b"")
        if data is None:
            problems.append({"code": "labels_missing", "count": 1})
        if bad:
            problems.append({"code": "malformed_labels", "count": bad})
        return cls(labels, problems)

    def watch(self, day: str, lines: Iterable[bytes]) -> Iterator[bytes]:
        """``lines`` handed on unchanged; those with a labelled request_id scored on the way."""
        counts = self.days.setdefault(day, [0, 0])
        for line in lines:
            found = _REQUEST_ID.search(line) if self.labels else None
            if found:
                label = self.labels.get(found.group(1).decode("utf-8", "replace"))
                if label is not None:
                    self._score(line, label, counts)
            yield line

    def _score(self, line: bytes, label: str, counts: list[int]) -> None:
        try:
            predicted = json.loads(line)["outputs"]["predict"]
        except (ValueError, KeyError, TypeError):
            return  # a malformed line: counted by the drift statistics
        if not isinstance(predicted, list) or len(predicted) != 1:
            self.multi_row += 1
            return
        counts[0] += 1
        counts[1] += class_key(predicted[0]) == label

    def day(self, day: str) -> dict:
        labelled, correct = self.days.get(day, [0, 0])
        return {"labelled": labelled, "accuracy": correct / labelled if labelled else None}

    def summary(self, uri: str) -> dict:
        labelled = sum(c[0] for c in self.days.values())
        correct = sum(c[1] for c in self.days.values())
        if self.multi_row:
            self.problems.append({"code": "labels_multi_row", "count": self.multi_row})
        return {"labelled": labelled, "matched": correct, "accuracy": correct / labelled if labelled else None,
                "labels_uri": uri, "labels": len(self.labels)}  # fmt: skip


def _read_path(path: str) -> bytes | None:
    try:
        with open(path.removeprefix("file://"), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def parse(data: bytes) -> tuple[dict[str, str], int]:
    """(request_id -> label, lines that were not a label). JSON Lines when the first non-blank
    character is ``{``, else CSV with a header naming request_id and label."""
    text = data.decode("utf-8-sig", "replace")
    labels, bad = {}, 0
    if text.lstrip().startswith("{"):
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                labels[str(record["request_id"])] = class_key(record["label"])
            except (ValueError, KeyError, TypeError):
                bad += 1
        return labels, bad
    rows = csv.DictReader(io.StringIO(text))
    if not rows.fieldnames or not {"request_id", "label"} <= set(rows.fieldnames):
        return {}, sum(1 for line in text.splitlines() if line.strip())
    for row in rows:
        if row.get("request_id") and row.get("label") not in (None, ""):
            labels[row["request_id"]] = class_key(row["label"])
        else:
            bad += 1
    return labels, bad
