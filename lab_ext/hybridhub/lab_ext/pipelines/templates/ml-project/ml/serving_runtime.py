"""MLServer runtime of the model folder: MLServer's scikit-learn runtime plus the request log.

model-settings.json names it (``"implementation": "serving_runtime.PredictionLoggingModel"``);
MLServer imports it with the model folder on ``sys.path`` (mlserver/settings.py,
ModelSettings.implementation), so this file, ``prediction_log.py`` and ``s3io.py`` travel in the
model folder. Predictions are exactly those of ``mlserver_sklearn.SKLearnModel``; after each
successful one its inputs and outputs go to the log (``prediction_log.py``), which never fails
or slows the answer. Without ``PREDICTION_LOG_URI`` it is the plain scikit-learn runtime.

Bad input is refused before the estimator sees it: scikit-learn's own errors (wrong feature
count, strings, NaN) are not MLServer errors, so MLServer would answer them with HTTP 500. A
request is checked against the input model-settings.json declares (one input of that name,
a numeric datatype, shape [n, features] with n >= 1 matching the data, finite numbers) and
refused with ``mlserver.errors.InferenceError``: MLServer answers HTTP 400 {"error": message}
(mlserver/rest/errors.py, handle_mlserver_error; gRPC: INVALID_ARGUMENT, mlserver/grpc/utils.py).
A refused request is not a prediction: it is not logged, it is counted
(``prediction_rejected_total``).
"""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import numpy as np

from mlserver.codecs import NumpyCodec, NumpyRequestCodec
from mlserver.errors import InferenceError, MLServerError
from mlserver.types import InferenceRequest, InferenceResponse
from mlserver.utils import get_model_uri
from mlserver_sklearn import SKLearnModel

import prediction_log

LOGGED = ("predict", "predict_proba")  # what every line holds, asked for or not
# the V2 datatypes of numbers (mlserver/types/dataplane.py, Datatype; BOOL and BYTES are not) and
# their numpy types (mlserver/codecs/numpy.py, _DatatypeToNumpy)
NUMPY = {f"{kind}{bits}": f"{kind.lower().replace('fp', 'float')}{bits}"
         for kind, sizes in (("INT", (8, 16, 32, 64)), ("UINT", (8, 16, 32, 64)), ("FP", (16, 32, 64)))
         for bits in sizes}  # fmt: skip


def _output(value):
    """One entry per row: NumpyCodec sends a 1-D result with shape [n, 1] (mlserver/codecs/numpy.py,
    inject_batch_dimension), decoded back as n x 1; the log keeps the estimator's own shape."""
    shape = getattr(value, "shape", ())
    return value.reshape(-1) if len(shape) == 2 and shape[1] == 1 else value


class InputSpec:
    """The one input the model takes, as model-settings.json declares it, and the check of a request."""

    def __init__(self, name: str | None, datatype: str, features: int | None, names: list[str]):
        self.name, self.datatype, self.features, self.names = name, datatype, features, names

    @property
    def expected(self) -> str:
        width = self.features or "features"
        names = f" ({', '.join(self.names)})" if self.names and len(self.names) == self.features else ""
        name = f"input '{self.name}'" if self.name else "one input"
        return f"expected {name} of shape [n, {width}]{names}"

    def check(self, payload: InferenceRequest) -> None:
        """Raise InferenceError (HTTP 400) saying what was expected and what came."""
        if len(payload.inputs) != 1:
            got = ", ".join(f"'{i.name}'" for i in payload.inputs) or "none"
            raise InferenceError(f"{self.expected}, got {len(payload.inputs)} inputs: {got}")
        given = payload.inputs[0]
        if self.name and given.name != self.name:
            raise InferenceError(f"{self.expected}, got input '{given.name}'")
        for where in (payload.parameters, given.parameters):
            content_type = where.content_type if where is not None else None
            if content_type not in (None, NumpyCodec.ContentType):
                raise InferenceError(f"{self.expected} as a tensor (content type 'np'), got content type "
                                     f"'{content_type}'")  # fmt: skip
        datatype = getattr(given.datatype, "value", given.datatype)
        if datatype not in NUMPY:
            raise InferenceError(f"{self.expected}, datatype {self.datatype} (or another numeric one), "
                                 f"got datatype {datatype}")  # fmt: skip
        shape = list(given.shape)
        if len(shape) != 2 or shape[1] < 1 or (self.features and shape[1] != self.features):
            raise InferenceError(f"{self.expected}, got {shape}")
        if shape[0] < 1:
            raise InferenceError(f"{self.expected} with n >= 1, got {shape}")
        data = getattr(given.data, "root", given.data)
        values = _flat(data)
        if values is None:
            raise InferenceError(f"{self.expected}, data a list of numbers, got {type(data).__name__}")
        if len(values) != shape[0] * shape[1]:
            raise InferenceError(f"{self.expected}: shape {shape} needs {shape[0] * shape[1]} values, "
                                 f"got {len(values)}")  # fmt: skip
        fits = _fits(datatype)
        for position, value in enumerate(values):
            if not fits(value):
                kind = "whole numbers" if datatype[0] in "IU" else "finite numbers"
                raise InferenceError(f"{self.expected}, {kind} that fit {datatype}, got {_show(value)} at row "
                                     f"{position // shape[1]}, column {position % shape[1]}")  # fmt: skip


def _flat(data) -> list | None:
    """The values of V2 tensor data, flat (nested lists are allowed: MLServer reshapes them)."""
    if not isinstance(data, list):
        return None
    values: list = []
    for item in data:
        values.extend(_flat(item) if isinstance(item, list) else [item])
    return values


def _fits(datatype: str):
    """Whether a JSON value is a number MLServer's NumpyCodec turns into that datatype unchanged
    (mlserver/codecs/numpy.py, _to_ndarray: np.array(data, dtype)): numpy raises OverflowError
    for an integer out of range, gives inf for a float out of range, and scikit-learn refuses
    NaN and inf; strings, null and booleans are not numbers."""
    integer = datatype[0] in "IU"
    info = np.iinfo(NUMPY[datatype]) if integer else np.finfo(NUMPY[datatype])

    def fits(value) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        try:
            if integer:
                return (isinstance(value, int) or value.is_integer()) and info.min <= value <= info.max
            return math.isfinite(value) and abs(value) <= float(info.max)
        except OverflowError:  # an integer too large for a float
            return False

    return fits


def _show(value) -> str:
    """The value for the message, short (JSON values only; anything else by its type)."""
    if isinstance(value, int) and value.bit_length() > 128:
        return "a huge integer"
    plain = isinstance(value, (str, int, float, bool, type(None)))
    text = json.dumps(value) if plain else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _rejected_counter(model: str, version: str):
    """``prediction_rejected_total``, registered as the log's counters are (prediction_log._counter:
    prometheus_client's default registry, served on /metrics with parallel_workers=0)."""
    try:
        counter = prediction_log._counter("prediction_rejected", "Inference requests refused for bad input")
    except ImportError:  # no prometheus_client: nothing to export
        return None
    return counter.labels(model, version)


async def _input_spec(model: SKLearnModel) -> InputSpec:
    """The declared input (model-settings.json ``inputs``) and the feature names the train job
    wrote to training.json beside the model file; without a declared width, the estimator's."""
    declared = model.settings.inputs[0] if len(model.settings.inputs or []) == 1 else None
    shape = list(declared.shape) if declared is not None else []
    features = shape[1] if len(shape) == 2 and shape[1] > 0 else getattr(model._model, "n_features_in_", None)
    names: list[str] = []
    try:
        folder = Path(await get_model_uri(model.settings))
        training = json.loads(((folder if folder.is_dir() else folder.parent) / "training.json").read_text("utf-8"))
        names = [str(n) for n in training.get("features") or []]
    except (OSError, ValueError, MLServerError, AttributeError):
        pass  # the names only make the message clearer
    datatype = getattr(declared.datatype, "value", declared.datatype) if declared is not None else "FP64"
    return InputSpec(declared.name if declared is not None else None, datatype, features, names)


class PredictionLoggingModel(SKLearnModel):
    async def load(self) -> bool:
        ready = await super().load()
        self._input = await _input_spec(self)
        self._rejected = _rejected_counter(self.name, self.version or "")
        self._prediction_log = prediction_log.from_env(self.name, self.version or "")
        return ready

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        try:
            self._input.check(payload)
            try:
                response = await super().predict(payload)  # its own InferenceErrors: e.g. an unknown output
            except ValueError as exc:  # scikit-learn's answer to values it cannot use (check_array)
                raise InferenceError(f"{self._input.expected}: the model cannot use these values: "
                                     f"{str(exc)[:200]}") from None  # fmt: skip
        except MLServerError as exc:
            if 400 <= exc.status_code < 500 and self._rejected is not None:
                self._rejected.inc()
            raise
        log = getattr(self, "_prediction_log", None)
        if log is not None:
            try:
                inputs = self.decode_request(payload, default_codec=NumpyRequestCodec)
                outputs = {o.name: _output(self.decode(o, default_codec=NumpyCodec)) for o in response.outputs}
                log.record(inputs, outputs, payload.id, complete=self._complete)
            except Exception as exc:  # noqa: BLE001 - the answer is already computed: it goes out
                log.count_failure(f"cannot make the log line: {type(exc).__name__}: {str(exc)[:200]}")
        return response

    def _complete(self, inputs, outputs: dict) -> dict:
        """Both outputs, whichever the request asked for; run by the log's thread, not the request's
        (the same fitted estimator on the same rows gives what the answer would have held)."""
        for name in LOGGED:
            if name not in outputs and hasattr(self._model, name):
                outputs[name] = _output(getattr(self._model, name)(inputs))
        return {k: outputs[k] for k in LOGGED if k in outputs}

    async def unload(self) -> bool:
        log = getattr(self, "_prediction_log", None)
        if log is not None:
            await asyncio.to_thread(log.close)
        return await super().unload()
