"""The model folder the train job writes and MLServer's sklearn runtime serves as it is.

    model/model.joblib           the fitted scikit-learn pipeline
    model/model-settings.json    MLServer's settings: name, runtime, version, input shape
    model/training.json          what made it: data URI and version, parameters, rows, seconds
    model/serving_runtime.py     the MLServer runtime: scikit-learn's plus the request log
    model/prediction_log.py, model/s3io.py    what the runtime imports (the model folder is
                                 on sys.path while MLServer imports the runtime)

https://mlserver.readthedocs.io/en/stable/reference/model-settings.html
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from data import FEATURES

MODEL_FILE = "model.joblib"
SETTINGS_FILE = "model-settings.json"
TRAINING_FILE = "training.json"
RUNTIME = "serving_runtime.PredictionLoggingModel"  # mlserver_sklearn.SKLearnModel + the request log
RUNTIME_FILES = ("serving_runtime.py", "prediction_log.py", "s3io.py")  # beside this file, copied as they are


def model_version() -> str:
    """A semantic version per pipeline: 1.0.<pipeline id> (MODEL_VERSION overrides it)."""
    given = os.environ.get("MODEL_VERSION", "")
    if given:
        return given
    pipeline = os.environ.get("HYBRIDHUB_PIPELINE_ID") or os.environ.get("CI_PIPELINE_ID") or "0"
    return f"1.0.{int(pipeline) if pipeline.isdigit() else 0}"


def settings(name: str, version: str) -> dict:
    return {
        "name": name,
        "implementation": RUNTIME,
        "parameters": {"uri": f"./{MODEL_FILE}", "version": version},
        "inputs": [{"name": "sensors", "datatype": "FP64", "shape": [-1, len(FEATURES)]}],
        "outputs": [{"name": "predict_proba", "datatype": "FP64", "shape": [-1, 2]}],
    }


def write(folder: Path, estimator, name: str, version: str, training: dict) -> None:
    import joblib

    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(estimator, folder / MODEL_FILE)
    (folder / SETTINGS_FILE).write_text(json.dumps(settings(name, version), indent=2) + "\n", encoding="utf-8")
    (folder / TRAINING_FILE).write_text(json.dumps(training, indent=2) + "\n", encoding="utf-8")
    for name in RUNTIME_FILES:
        shutil.copyfile(Path(__file__).with_name(name), folder / name)


def load(folder: Path):
    import joblib

    return joblib.load(folder / MODEL_FILE)


def read_json(folder: Path, name: str) -> dict:
    path = folder / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
