"""MLServer runtime of the model folder: MLServer's scikit-learn runtime plus the request log.

model-settings.json names it (``"implementation": "serving_runtime.PredictionLoggingModel"``);
MLServer imports it with the model folder on ``sys.path`` (mlserver/settings.py,
ModelSettings.implementation), so this file, ``prediction_log.py`` and ``s3io.py`` travel in the
model folder. Predictions are exactly those of ``mlserver_sklearn.SKLearnModel``; after each
successful one its inputs and outputs go to the log (``prediction_log.py``), which never fails
or slows the answer. Without ``PREDICTION_LOG_URI`` it is the plain scikit-learn runtime.
"""

from __future__ import annotations

import asyncio

from mlserver.codecs import NumpyCodec, NumpyRequestCodec
from mlserver.types import InferenceRequest, InferenceResponse
from mlserver_sklearn import SKLearnModel

import prediction_log

LOGGED = ("predict", "predict_proba")  # what every line holds, asked for or not


def _output(value):
    """One entry per row: NumpyCodec sends a 1-D result with shape [n, 1] (mlserver/codecs/numpy.py,
    inject_batch_dimension), decoded back as n x 1; the log keeps the estimator's own shape."""
    shape = getattr(value, "shape", ())
    return value.reshape(-1) if len(shape) == 2 and shape[1] == 1 else value


class PredictionLoggingModel(SKLearnModel):
    async def load(self) -> bool:
        ready = await super().load()
        self._prediction_log = prediction_log.from_env(self.name, self.version or "")
        return ready

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        response = await super().predict(payload)
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
