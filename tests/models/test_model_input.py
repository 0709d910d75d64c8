"""Bad prediction input is a 400 with what was expected, never a 500 (issue 19, "Bad input").

The template's model folder served by the real MLServer 1.7.1 with its runtime
(ml/serving_runtime.py), fixtures and server of tests/models/test_prediction_log.py.

How MLServer 1.7.1 answers errors (SeldonIO/MLServer, read at 1.7.1):
- mlserver/errors.py: ``MLServerError(msg, status_code=400)``; ``InferenceError`` is a 400.
- mlserver/rest/errors.py: ``handle_mlserver_error`` answers an MLServerError with its status
  and ``{"error": str(exc)}``; it is the only exception handler (``_EXCEPTION_HANDLERS``), so any
  other exception (scikit-learn's ValueError for a wrong feature count) is Starlette's plain 500.
- mlserver/grpc/utils.py: ``STATUS_CODE_MAPPING`` 400 -> INVALID_ARGUMENT, details = str(exc).
- A body that is not a V2 request (unknown datatype, no "inputs") fails FastAPI's validation of
  ``InferenceRequest`` (mlserver/types/dataplane.py) before the model is called: FastAPI's
  default 422 ``{"detail": [...]}`` (fastapi/exception_handlers.py,
  request_validation_exception_handler; https://fastapi.tiangolo.com/tutorial/handling-errors/
  #override-request-validation-exceptions); the runtime never sees it, so it is not counted.
- mlserver_sklearn/sklearn.py, ``SKLearnModel._check_request``: an output other than predict,
  predict_proba, transform is an InferenceError (400).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid

import pytest

from .test_prediction_log import (  # noqa: F401 - module fixtures used by name
    NAME,
    ROWS,
    VERSION,
    Server,
    admin,
    log_env,
    model_folder,
    read_log,
    store,
    today,
)

pytestmark = [pytest.mark.models]

EXPECTED = "expected input 'sensors' of shape [n, 3] (temperature_c, vibration_mm_s, current_a)"


def sensors(shape, data, datatype="FP64", name="sensors", **extra) -> dict:
    return {"name": name, "shape": shape, "datatype": datatype, "data": data, **extra}


# each: a V2 request body (without id) and the whole message of the 400. With MLServer's sklearn
# runtime alone (tried on 1.7.1): 10 were an HTTP 500, three were served as if fine (-1 rows,
# booleans, another input name), two were the codec's 400 (no input, two inputs), and the
# unknown output SKLearnModel's own 400 (kept: the runtime adds only the count)
BAD = {
    "two features": ({"inputs": [sensors([1, 2], [48, 4.1])]}, f"{EXPECTED}, got [1, 2]"),
    "five values for [1, 3]": ({"inputs": [sensors([1, 3], [48, 4.1, 12, 40, 1.8])]},
                               f"{EXPECTED}: shape [1, 3] needs 3 values, got 5"),
    "one row of three as 1-D": ({"inputs": [sensors([3], [48, 4.1, 12])]}, f"{EXPECTED}, got [3]"),
    "zero rows": ({"inputs": [sensors([0, 3], [])]}, f"{EXPECTED} with n >= 1, got [0, 3]"),
    "-1 rows": ({"inputs": [sensors([-1, 3], [48, 4.1, 12])]}, f"{EXPECTED} with n >= 1, got [-1, 3]"),
    "strings": ({"inputs": [sensors([1, 3], ["a", "b", "c"], "BYTES")]},
                f"{EXPECTED}, datatype FP64 (or another numeric one), got datatype BYTES"),
    "booleans": ({"inputs": [sensors([1, 3], [True, False, True], "BOOL")]},
                 f"{EXPECTED}, datatype FP64 (or another numeric one), got datatype BOOL"),
    "no input": ({"inputs": []}, f"{EXPECTED}, got 0 inputs: none"),
    "another input name": ({"inputs": [sensors([1, 3], [48, 4.1, 12], name="x")]}, f"{EXPECTED}, got input 'x'"),
    "two inputs": ({"inputs": [sensors([1, 3], [48, 4.1, 12]), sensors([1, 3], [1, 2, 3], name="y")]},
                   f"{EXPECTED}, got 2 inputs: 'sensors', 'y'"),
    "a word for a number": ({"inputs": [sensors([2, 3], [48, 4.1, 12, 40, "high", 12])]},
                            f'{EXPECTED}, finite numbers that fit FP64, got "high" at row 1, column 1'),
    "null": ({"inputs": [sensors([1, 3], [48, None, 12])]},
             f"{EXPECTED}, finite numbers that fit FP64, got null at row 0, column 1"),
    "a number out of INT8": ({"inputs": [sensors([1, 3], [48, 4, 300], "INT8")]},
                             f"{EXPECTED}, whole numbers that fit INT8, got 300 at row 0, column 2"),
    "a pandas content type": ({"inputs": [sensors([1, 3], [48, 4.1, 12])], "parameters": {"content_type": "pd"}},
                              f"{EXPECTED} as a tensor (content type 'np'), got content type 'pd'"),
    # finite, but squared by the estimator's PolynomialFeatures: scikit-learn's check_array refuses inf
    "too large for the estimator": ({"inputs": [sensors([1, 3], [1e308, 1e308, 1e308])]},
                                    f"{EXPECTED}: the model cannot use these values: Input X contains infinity "
                                    "or a value too large for dtype('float64')."),
    "an unknown output": ({"inputs": [sensors([1, 3], [48, 4.1, 12])], "outputs": [{"name": "explain"}]},
                          "SKLearnModel only supports 'predict', 'predict_proba' and 'transform' as outputs "
                          "(explain was received)"),
}  # fmt: skip


@pytest.fixture(scope="module")
def server(store, model_folder, tmp_path_factory):
    """One server for the module, with the request log on (each test reads counters as deltas)."""
    bucket = f"input-{uuid.uuid4().hex[:12]}"
    admin(store).make_bucket(bucket)
    base = tmp_path_factory.mktemp("input-server")
    server = Server(model_folder, log_env(store, bucket, base / "spool"), base / "server.log")
    server.bucket = bucket
    try:
        yield server
    finally:
        server.stop()


def post(server: Server, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(f"{server.url}/v2/models/{NAME}/infer", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def good(server: Server, request_id: str, data=None, datatype="FP64") -> dict:
    body = {"id": request_id, "inputs": [sensors([1, 3], data or ROWS[0], datatype)]}
    status, answer = post(server, body)
    assert status == 200, answer
    return answer


def test_each_bad_input_is_a_400_saying_what_was_expected(server, store):
    rejected, records = server.metric("prediction_rejected_total"), server.metric("prediction_log_records_total")
    served = []
    for i, (case, (body, message)) in enumerate(BAD.items()):
        status, answer = post(server, {"id": f"bad-{i}", **body})
        assert (status, answer) == (400, {"error": message}), case
        served.append(f"good-{i}")  # and the server answers the next good request as before
        assert good(server, served[-1])["outputs"][0]["data"] == [1], case
    assert server.metric("prediction_rejected_total") - rejected == len(BAD)
    # the request log is for served predictions: only the good ones are in it (spooled and
    # uploaded by the log's thread, so waited for)
    deadline = time.monotonic() + 30
    while (ids := logged(store, server.bucket, ("good-", "bad-"))) != served:
        assert time.monotonic() < deadline and len(ids) < len(served), ids
        time.sleep(0.2)
    assert server.metric("prediction_log_records_total") - records == len(served)
    log = server.log_path.read_text()
    assert "Traceback" not in log and " 500 " not in log, log[-3000:]


def test_good_input_in_other_numeric_forms_is_served(server):
    """What the check lets through: integer datatypes, nested rows (NumpyCodec reshapes, mlserver/
    codecs/numpy.py decode_input), several rows."""
    rejected = server.metric("prediction_rejected_total")
    assert good(server, "int64", [48, 4, 12], "INT64")["outputs"][0]["data"] == [1]
    assert good(server, "nested", [ROWS[1]])["outputs"][0]["data"] == [0]
    status, answer = post(server, {"inputs": [sensors([2, 3], ROWS)]})
    assert status == 200 and answer["outputs"][0]["data"] == [1, 0]
    assert server.metric("prediction_rejected_total") == rejected


def test_a_body_that_is_not_a_v2_request_is_mlservers_own_422_and_not_counted(server):
    rejected = server.metric("prediction_rejected_total")
    status, answer = post(server, {"inputs": [sensors([1, 3], [48, 4.1, 12], "FLOAT")]})
    assert status == 422 and answer["detail"][0]["loc"] == ["body", "inputs", 0, "datatype"]
    status, answer = post(server, {"id": "no-inputs"})
    assert status == 422 and answer["detail"][0]["loc"] == ["body", "inputs"]
    assert server.metric("prediction_rejected_total") == rejected
    assert good(server, "after-422")["model_version"] == VERSION


def test_grpc_answers_bad_input_with_invalid_argument(server):
    """The same check over MLServer's gRPC endpoint (mlserver/grpc/utils.py: 400 -> INVALID_ARGUMENT)."""
    import grpc
    from mlserver.grpc import dataplane_pb2 as pb
    from mlserver.grpc.dataplane_pb2_grpc import GRPCInferenceServiceStub

    def infer(shape, values):
        tensor = pb.ModelInferRequest.InferInputTensor(name="sensors", datatype="FP64", shape=shape,
                                                       contents=pb.InferTensorContents(fp64_contents=values))  # fmt: skip
        return stub.ModelInfer(pb.ModelInferRequest(model_name=NAME, model_version=VERSION, inputs=[tensor]), timeout=10)

    rejected = server.metric("prediction_rejected_total")
    with grpc.insecure_channel(server.grpc_address) as channel:
        stub = GRPCInferenceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            infer([1, 2], [48, 4.1])
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert refused.value.details() == f"{EXPECTED}, got [1, 2]"
        answer = infer([1, 3], ROWS[0])
        assert list(answer.outputs[0].contents.int64_contents) == [1]
    assert server.metric("prediction_rejected_total") == rejected + 1


def test_the_counter_is_on_metrics_with_the_models_labels(server):
    with urllib.request.urlopen(server.metrics_url, timeout=5) as response:
        text = response.read().decode()
    assert "# TYPE prediction_rejected_total counter" in text
    assert re.search(rf'^prediction_rejected_total\{{model_name="{NAME}",model_version="{VERSION}"\}} [0-9.]+$',
                     text, re.M), text  # fmt: skip


def logged(store, bucket: str, prefixes: tuple[str, ...]) -> list[str]:
    """The request ids of the day's log lines that start with one of the prefixes, in order."""
    return [line["request_id"] for line in read_log(store, bucket, today()) if line["request_id"].startswith(prefixes)]
