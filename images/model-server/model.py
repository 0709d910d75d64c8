"""The trained model the server answers with: a linear model exported by the training job.

Format (JSON, ``"format": "hybridhub-linear/1"``)::

    {"format": "hybridhub-linear/1", "name": "sensor-anomaly", "version": "3",
     "task": "regression" | "classification",
     "features": ["temperature", "vibration"],
     "weights": [0.5, -1.2]            # regression: one row; classification: one row per class
     "bias": 0.1,                      # regression: a number; classification: one per class
     "classes": ["ok", "anomaly"]}     # classification only

JSON rather than pickle: loading a model never runs code. Pure Python, no dependencies.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

FORMAT = "hybridhub-linear/1"


class ModelError(ValueError):
    """The model file is invalid; the message says what is wrong."""


class InputError(ValueError):
    """A prediction request is invalid; the message is returned to the client."""


@dataclass(frozen=True)
class LinearModel:
    name: str
    version: str
    task: str
    features: tuple[str, ...]
    weights: tuple[tuple[float, ...], ...]
    bias: tuple[float, ...]
    classes: tuple[str, ...] = ()

    def _row(self, instance) -> list[float]:
        if isinstance(instance, dict):
            missing = [f for f in self.features if f not in instance]
            if missing:
                raise InputError(f"missing feature(s): {', '.join(missing)}")
            instance = [instance[f] for f in self.features]
        if not isinstance(instance, list) or len(instance) != len(self.features):
            raise InputError(f"each instance needs {len(self.features)} values ({', '.join(self.features)})")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in instance):
            raise InputError("feature values must be finite numbers")
        return [float(v) for v in instance]

    def predict_one(self, instance):
        x = self._row(instance)
        scores = [sum(w * v for w, v in zip(row, x)) + b for row, b in zip(self.weights, self.bias)]
        if self.task == "regression":
            return scores[0]
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        best = scores.index(top)
        return {"label": self.classes[best], "probability": exps[best] / total}

    def predict(self, instances) -> list:
        if not isinstance(instances, list) or not instances:
            raise InputError("'instances' must be a non-empty list")
        return [self.predict_one(i) for i in instances]


def _numbers(value, where: str) -> tuple[float, ...]:
    if not isinstance(value, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise ModelError(f"{where} must be a list of numbers")
    return tuple(float(v) for v in value)


def parse_model(data: dict) -> LinearModel:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelError(f"not a {FORMAT} model")
    task = data.get("task")
    features = data.get("features")
    if not isinstance(features, list) or not features or not all(isinstance(f, str) for f in features):
        raise ModelError("features must be a non-empty list of names")
    if task == "regression":
        weights = (_numbers(data.get("weights"), "weights"),)
        bias = _numbers([data.get("bias", 0.0)], "bias")
        classes: tuple[str, ...] = ()
    elif task == "classification":
        classes = tuple(data.get("classes") or ())
        rows = data.get("weights")
        if len(classes) < 2 or not isinstance(rows, list) or len(rows) != len(classes):
            raise ModelError("classification needs at least 2 classes and one weight row per class")
        weights = tuple(_numbers(r, f"weights[{i}]") for i, r in enumerate(rows))
        bias = _numbers(data.get("bias", [0.0] * len(classes)), "bias")
        if len(bias) != len(classes):
            raise ModelError("bias needs one value per class")
    else:
        raise ModelError("task must be 'regression' or 'classification'")
    if any(len(row) != len(features) for row in weights):
        raise ModelError("each weight row needs one value per feature")
    return LinearModel(str(data.get("name", "model")), str(data.get("version", "0")), task, tuple(features),
                       weights, bias, classes)


def load_model(path: str | Path) -> LinearModel:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ModelError(f"cannot read model {path}: {e}") from None
    return parse_model(data)
