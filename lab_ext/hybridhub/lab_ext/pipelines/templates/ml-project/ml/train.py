"""Train a logistic-regression failure classifier (pure Python, batch gradient descent).

    python ml/train.py --data s3://datasets/sensors/train.csv --version <id> --out model/model.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from data import FEATURES, expand, fit_scaler, parse_csv, scale  # noqa: E402
from s3io import read_bytes  # noqa: E402


def sigmoid(z: float) -> float:
    if z < -30:
        return 0.0
    if z > 30:
        return 1.0
    return 1.0 / (1.0 + math.exp(-z))


def train(rows: list[list[float]], labels: list[int], epochs: int, rate: float) -> tuple[list[float], float, float]:
    weights, bias, n = [0.0] * len(rows[0]), 0.0, len(rows)
    loss = 0.0
    for epoch in range(epochs):
        grad_w, grad_b, loss = [0.0] * len(weights), 0.0, 0.0
        for x, y in zip(rows, labels):
            p = sigmoid(sum(w * v for w, v in zip(weights, x)) + bias)
            error = p - y
            for i, v in enumerate(x):
                grad_w[i] += error * v
            grad_b += error
            loss -= math.log(max(p, 1e-12)) if y else math.log(max(1 - p, 1e-12))
        weights = [w - rate * g / n for w, g in zip(weights, grad_w)]
        bias -= rate * grad_b / n
        if epoch % max(1, epochs // 5) == 0 or epoch == epochs - 1:
            print(f"epoch {epoch + 1:4d}/{epochs}  loss {loss / n:.4f}", flush=True)
    return weights, bias, loss / n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="s3://bucket/key, https:// URL or path of the training CSV")
    parser.add_argument("--version", default="", help="object version id (MinIO/S3) for a reproducible run")
    parser.add_argument("--out", default="model/model.json")
    parser.add_argument("--epochs", type=int, default=int(os.environ.get("EPOCHS", "500")))
    parser.add_argument("--learning-rate", type=float, default=float(os.environ.get("LEARNING_RATE", "5.0")))
    args = parser.parse_args(argv)

    started = time.monotonic()
    print(f"data {args.data} version {args.version or '(latest)'}", flush=True)
    rows, labels = parse_csv(read_bytes(args.data, args.version))
    expanded = [expand(r) for r in rows]
    scaler = fit_scaler(expanded)
    weights, bias, loss = train(scale(expanded, scaler), labels, args.epochs, args.learning_rate)
    model = {
        "kind": "logistic-regression",
        "features": FEATURES,
        "expanded": "pairwise-products",
        "scaler": scaler,
        "weights": weights,
        "bias": bias,
        "training": {
            "data_uri": args.data,
            "data_version": args.version,
            "rows": len(rows),
            "epochs": args.epochs,
            "learning_rate": args.learning_rate,
            "final_loss": round(loss, 6),
            "seconds": round(time.monotonic() - started, 3),
        },
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
    print(f"trained on {len(rows)} rows, final loss {loss:.4f}, model written to {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
