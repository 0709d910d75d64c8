"""The sensor CSV: the feature columns and the label, as lists scikit-learn takes."""

from __future__ import annotations

import csv
import io

FEATURES = ["temperature_c", "vibration_mm_s", "current_a"]
TARGET = "failure"


def parse_csv(content: bytes) -> tuple[list[list[float]], list[int]]:
    reader = csv.DictReader(io.StringIO(content.decode("utf-8")))
    missing = [c for c in FEATURES + [TARGET] if c not in (reader.fieldnames or [])]
    if missing:
        raise SystemExit(f"the data has no column(s) {', '.join(missing)}")
    rows, labels = [], []
    for record in reader:
        rows.append([float(record[c]) for c in FEATURES])
        labels.append(int(record[TARGET]))
    if not rows:
        raise SystemExit("the data has no rows")
    return rows, labels
