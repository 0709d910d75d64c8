"""The sensor CSV: features and label, standardisation kept with the model."""

from __future__ import annotations

import csv
import io
import math

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


def expand(row: list[float]) -> list[float]:
    """Raw features plus their pairwise products (failures need hot *and* shaking)."""
    products = [row[i] * row[j] for i in range(len(row)) for j in range(i + 1, len(row))]
    return row + products


def fit_scaler(rows: list[list[float]]) -> dict:
    columns = list(zip(*rows))
    means = [sum(c) / len(c) for c in columns]
    stds = [math.sqrt(sum((v - m) ** 2 for v in c) / len(c)) or 1.0 for c, m in zip(columns, means)]
    return {"mean": means, "std": stds}


def scale(rows: list[list[float]], scaler: dict) -> list[list[float]]:
    return [[(v - m) / s for v, m, s in zip(row, scaler["mean"], scaler["std"])] for row in rows]
