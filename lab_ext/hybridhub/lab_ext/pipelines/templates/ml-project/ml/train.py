"""Train the failure classifier with scikit-learn and write the model folder MLServer serves.

    python ml/train.py --data s3://datasets/sensors/train.csv --version <id> --out model

The pipeline: pairwise products of the readings (a failure needs hot *and* shaking), scaled,
then a logistic regression. The folder holds the fitted pipeline (joblib), MLServer's
model-settings.json with the model's name and version, and training.json (what made it).

Then the version is registered in the model registry (ml/registry.py: a run with its params,
metrics, lineage tags and the model folder, and a model version; model/registry.json says which)
and lineage.json is started (ml/lineage.py) with the data version actually read.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from data import FEATURES, parse_csv  # noqa: E402
import lineage  # noqa: E402
import registry  # noqa: E402
from model_files import model_version, write  # noqa: E402
from s3io import read_object, recorded_uri  # noqa: E402

ESTIMATOR = "PolynomialFeatures+StandardScaler+LogisticRegression"


def run_tags(name: str, version: str, data: dict) -> dict:
    """The run's tags (design §1 of issue 19): GitLab links the version to the job with gitlab.CI_JOB_ID."""
    given = {
        "gitlab.CI_JOB_ID": os.environ.get("CI_JOB_ID"), "hybridhub.model": name, "hybridhub.version": version,
        "hybridhub.commit": os.environ.get("CI_COMMIT_SHA"), "hybridhub.pipeline_id": lineage.pipeline_id(),
        "hybridhub.project": lineage.project(), "hybridhub.reproduces": os.environ.get("REPRODUCES_VERSION", "").strip(),
        "hybridhub.data.train": data,
    }  # fmt: skip
    return {k: v for k, v in given.items() if v}  # unset ones are not tagged


def build(c: float, max_iter: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    return make_pipeline(
        PolynomialFeatures(degree=2, interaction_only=True, include_bias=False),
        StandardScaler(),
        LogisticRegression(C=c, max_iter=max_iter),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="s3://bucket/key, https:// URL or path of the training CSV")
    parser.add_argument("--version", default="", help="object version id (S3) for a reproducible run")
    parser.add_argument("--out", default="model", help="the model folder")
    parser.add_argument("--name", default=os.environ.get("MODEL_NAME", "sensor-failure"))
    parser.add_argument("--c", type=float, default=float(os.environ.get("REGULARIZATION_C", "10.0")),
                        help="inverse regularization strength of the logistic regression")
    parser.add_argument("--max-iter", type=int, default=int(os.environ.get("MAX_ITER", "1000")))
    parser.add_argument("--lineage", default=lineage.LINEAGE_FILE, help="lineage.json to start")
    args = parser.parse_args(argv)

    import sklearn

    started = time.monotonic()
    print(f"data {recorded_uri(args.data)} version {args.version or '(latest)'}", flush=True)
    content, data = read_object(args.data, args.version)
    print(f"read {data['size']} bytes, version {data['version_id'] or '(none: the store keeps no versions; ETag ' + str(data['etag']) + ')'}",
          flush=True)  # fmt: skip
    rows, labels = parse_csv(content)
    estimator = build(args.c, args.max_iter).fit(rows, labels)
    iterations = int(estimator[-1].n_iter_[0])
    version = model_version()
    training = {
        "data_uri": data["uri"], "data_version": args.version, "rows": len(rows), "features": FEATURES,
        "library": f"scikit-learn {sklearn.__version__}", "estimator": ESTIMATOR, "data_read": data,
        "params": {"C": args.c, "max_iter": args.max_iter}, "iterations": iterations,
        "train_accuracy": round(float(estimator.score(rows, labels)), 6),
        "seconds": round(time.monotonic() - started, 3), "model": {"name": args.name, "version": version},
    }  # fmt: skip
    folder = Path(args.out)
    write(folder, estimator, args.name, version, training)
    print(f"trained on {len(rows)} rows in {iterations} iterations (scikit-learn {sklearn.__version__}), "
          f"model {args.name} {version} written to {args.out}/", flush=True)  # fmt: skip
    params = {"C": args.c, "max_iter": args.max_iter, "estimator": ESTIMATOR, "library": f"scikit-learn {sklearn.__version__}"}
    info = registry.register(folder, args.name, version, params, {"train_accuracy": training["train_accuracy"]},
                             run_tags(args.name, version, data)) or {}  # fmt: skip
    reproduces = os.environ.get("REPRODUCES_VERSION", "").strip() or None
    lineage.update({"model": {"name": args.name, "version": version, "registry_version": info.get("registry_version"),
                              "run_id": info.get("run_id")},
                    "jobs": {"train": os.environ.get("CI_JOB_ID") or None}, "data": {"train": data},
                    "reproduces": reproduces}, args.lineage, fresh=True)  # fmt: skip
    print(f"lineage written to {args.lineage}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
