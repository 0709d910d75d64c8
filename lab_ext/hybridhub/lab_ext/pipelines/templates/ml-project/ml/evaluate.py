"""Test the trained model: metrics, then the gate (threshold and the production model).

    python ml/evaluate.py --model model --data s3://datasets/sensors/test.csv \
        --min-accuracy 0.9 --production s3://models/ml-project/production/metrics.json

Writes metrics.json (kept as an artifact) and metrics.txt (a GitLab metrics report: one
``name value`` per line) before deciding, so a failed gate still shows its numbers.
Exit status 1 when accuracy is below --min-accuracy or below the production model's.
The metrics and the gate's verdict also go to the version's run in the model registry (the run
model/registry.json names) and to lineage.json, with the test data version actually read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lineage  # noqa: E402
import registry  # noqa: E402
from data import parse_csv  # noqa: E402
from model_files import SETTINGS_FILE, TRAINING_FILE, load, read_json  # noqa: E402
from s3io import exists, read_bytes, read_object  # noqa: E402


def metrics_for(estimator, rows: list[list[float]], labels: list[int]) -> dict:
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    predicted = estimator.predict(rows)
    scores = {
        "accuracy": accuracy_score(labels, predicted),
        "precision": precision_score(labels, predicted, zero_division=0),
        "recall": recall_score(labels, predicted, zero_division=0),
        "f1": f1_score(labels, predicted, zero_division=0),
    }
    return {**{k: round(float(v), 6) for k, v in scores.items()}, "test_rows": len(labels)}


def production_accuracy(uri: str) -> float | None:
    if not uri or not exists(uri):
        return None
    return float(json.loads(read_bytes(uri))["metrics"]["accuracy"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="model", help="the model folder train.py wrote")
    parser.add_argument("--data", required=True)
    parser.add_argument("--version", default="")
    parser.add_argument("--min-accuracy", type=float, default=float(os.environ.get("MIN_ACCURACY", "0.95")))
    parser.add_argument("--production", default="", help="metrics.json of the model in production (optional)")
    parser.add_argument("--metrics", default="metrics.json")
    parser.add_argument("--report", default="metrics.txt")
    parser.add_argument("--lineage", default=lineage.LINEAGE_FILE, help="lineage.json to add the test's part to")
    args = parser.parse_args(argv)

    folder = Path(args.model)
    content, data = read_object(args.data, args.version)
    rows, labels = parse_csv(content)
    metrics = metrics_for(load(folder), rows, labels)
    served = read_json(folder, SETTINGS_FILE)
    baseline = production_accuracy(args.production)
    document = {
        "metrics": metrics,
        "gate": {"min_accuracy": args.min_accuracy, "production_accuracy": baseline},
        "data": {"uri": data["uri"], "version": args.version},
        "model": {"name": served.get("name", ""), "version": served.get("parameters", {}).get("version", "")},
        "training": read_json(folder, TRAINING_FILE),
        "commit": os.environ.get("CI_COMMIT_SHA", ""),
        "pipeline_id": os.environ.get("CI_PIPELINE_ID", ""),
    }
    failures = []
    if metrics["accuracy"] < args.min_accuracy:
        failures.append(f"accuracy {metrics['accuracy']:.4f} is below the threshold {args.min_accuracy:.4f}")
    if baseline is not None and metrics["accuracy"] < baseline:
        failures.append(f"accuracy {metrics['accuracy']:.4f} is below the production model's {baseline:.4f}")
    document["gate"]["passed"] = not failures
    document["data"]["read"] = data
    Path(args.metrics).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    Path(args.report).write_text("".join(f"{k} {v}\n" for k, v in metrics.items()), encoding="utf-8")
    job = os.environ.get("CI_JOB_ID") or None
    lineage.update({"jobs": {"test": job}, "data": {"test": data}, "metrics": metrics,
                    "gate": {"passed": not failures, "reasons": failures}}, args.lineage)  # fmt: skip
    registry.log_test(folder, metrics, {"hybridhub.gate": "failed" if failures else "passed",
                                        "hybridhub.gate_reasons": "; ".join(failures),
                                        "hybridhub.test_job_id": job, "hybridhub.data.test": data})  # fmt: skip
    for name, value in metrics.items():
        print(f"{name:>10}: {value}")
    if failures:
        for failure in failures:
            print(f"\x1b[31mGATE FAILED: {failure}\x1b[0m")
        return 1
    print("\x1b[32mGATE PASSED\x1b[0m")
    return 0


if __name__ == "__main__":
    sys.exit(main())
