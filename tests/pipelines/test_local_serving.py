"""The local model server of local runs: real MLServer processes behind one stable port.

A redeploy does not drop requests (a client asks in a loop during the swap, on new connections
or on one kept-alive connection: zero failures, the old version until the switch, the new one after); a model that never becomes ready
leaves the old one serving; a refused request starts nothing; closing leaves no process.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hybridhub.lab_ext.pipelines.local_serving import LocalServing
from hybridhub.lab_ext.pipelines.template import TEMPLATE_DIR

from .conftest import infer
from .test_local_backend import alive

pytestmark = [pytest.mark.pipelines, pytest.mark.models]


@pytest.fixture(scope="module")
def models(tmp_path_factory, sample_data) -> dict[str, Path]:
    """Two model folders trained by the template's train.py, versions 1.0.1 and 1.0.2."""
    base = tmp_path_factory.mktemp("models")
    folders = {}
    for version, c in (("1.0.1", "10"), ("1.0.2", "1")):
        out = base / version
        result = subprocess.run(
            [sys.executable, str(TEMPLATE_DIR / "ml" / "train.py"), "--data", str(sample_data["train"]), "--out", str(out),
             "--c", c], env={**os.environ, "MODEL_VERSION": version}, capture_output=True, text=True, timeout=120,
            cwd=base,  # the job's lineage.json is written in its working folder
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        folders[version] = out
    return folders


def hand_over(serving: LocalServing, folder: Path, request_id: str, for_watcher: bool = False,
              request: dict | None = None) -> Path:  # fmt: skip
    """What ci/local_deploy.py does: the model folder moved whole under requests/<id>/; with its
    request.json (the watcher's signal) only when the watcher should take it, not deploy() here,
    or when the test gives its content."""
    staging = serving.dir / "staging" / request_id
    shutil.copytree(folder, staging)
    if for_watcher or request is not None:
        (staging / "request.json").write_text(json.dumps(request or {}))
    target = serving.dir / "requests" / request_id
    os.replace(staging, target)
    return target


@pytest.fixture
async def serving(tmp_path):
    folder = tmp_path / "serving"
    folder.mkdir()
    local = LocalServing(folder, ready_timeout=20, grace=5)
    await local.start()
    try:
        yield local
    finally:
        await local.close()


def ask_in_a_loop(url: str, stop: threading.Event, answers: list, failures: list, keep_alive: bool) -> None:
    """Sequential requests until ``stop`` (bounded in count and time): each on a new connection,
    or all on one kept-alive connection (http.client never retries: a closed one is a failure)."""
    deadline, limit = time.monotonic() + 120, 3000
    connection = http.client.HTTPConnection(url.split("//")[1], timeout=10) if keep_alive else None
    body = json.dumps({"inputs": [{"name": "sensors", "shape": [1, 3], "datatype": "FP64", "data": [48.0, 4.1, 12.0]}]})
    while not stop.is_set() and len(answers) + len(failures) < limit and time.monotonic() < deadline:
        try:
            if connection is None:
                answers.append(infer(url, [[48.0, 4.1, 12.0]], timeout=10)["model_version"])
                continue
            connection.request("POST", "/v2/models/sensor-failure/infer", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            answer = json.loads(response.read())
            assert response.status == 200 and response.getheader("Connection", "") != "close", answer
            answers.append(answer["model_version"])
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError, AssertionError) as exc:
            failures.append(repr(exc))
    if connection is not None:
        connection.close()


@pytest.mark.parametrize("keep_alive", [False, True], ids=["new-connections", "kept-alive-connection"])
async def test_redeploy_swaps_without_dropping_a_request(serving, models, keep_alive):
    first = await serving.deploy(hand_over(serving, models["1.0.1"], "r1"))
    assert first["state"] == "serving" and first["version"] == "1.0.1", first
    (old,) = serving.instances
    stop, answers, failures = threading.Event(), [], []
    client = threading.Thread(target=ask_in_a_loop, args=(serving.url, stop, answers, failures, keep_alive))
    client.start()
    try:
        while len(answers) < 20 and not failures:  # the loop is under way before the swap starts
            await asyncio.sleep(0.05)
        second = await serving.deploy(hand_over(serving, models["1.0.2"], "r2"))
        count_at_switch = len(answers)
        while len(answers) < count_at_switch + 20 and not failures:
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.to_thread(client.join, 30)
    assert failures == []
    assert second["state"] == "serving" and second["previous"] == "1.0.1"
    # the old version until the switch, the new one after it, never back
    switched = answers.index("1.0.2")
    assert switched >= 20 and set(answers[:switched]) == {"1.0.1"} and set(answers[switched:]) == {"1.0.2"}
    assert not alive(old.process.pid) and [i.version for i in serving.instances] == ["1.0.2"]
    current = json.loads((serving.dir / "current.json").read_text())
    assert current["version"] == "1.0.2" and current["url"] == serving.url
    # MLServer's own Prometheus endpoint counts what the new server answered
    with urllib.request.urlopen(second["metrics_url"], timeout=5) as response:
        metrics = response.read().decode()
    served = re.search(r'^model_infer_request_success_total\{model="sensor-failure",[^}]*\} ([0-9.]+)$', metrics, re.M)
    assert served and float(served.group(1)) == len(answers) - switched


async def test_a_model_that_never_gets_ready_leaves_the_old_one_serving(serving, models, tmp_path):
    await serving.deploy(hand_over(serving, models["1.0.1"], "good"))
    broken = tmp_path / "broken"
    shutil.copytree(models["1.0.2"], broken)
    (broken / "model.joblib").write_bytes(b"not a joblib file")
    status = await serving.deploy(hand_over(serving, broken, "bad"))
    assert status["state"] == "failed" and ("MLServer exited" in status["reason"] or "not ready" in status["reason"]), status
    assert [i.version for i in serving.instances] == ["1.0.1"]  # the failed one was stopped
    assert (await asyncio.to_thread(infer, serving.url, [[40.0, 1.8, 12.0]]))["model_version"] == "1.0.1"
    written = json.loads((serving.dir / "status" / "bad.json").read_text())
    assert written["state"] == "failed" and written["reason"] == status["reason"]


@pytest.mark.parametrize("change, reason", [
    (lambda s: s.update(implementation="mlserver.models.SomethingElse"), "runtime is served locally"),
    (lambda s: s["parameters"].update(version="1.0/../../x"), "short words"),
    (lambda s: s.pop("parameters"), "no valid model-settings.json"),
])  # fmt: skip
async def test_refused_requests_start_nothing(serving, models, tmp_path, change, reason):
    folder = tmp_path / "odd"
    shutil.copytree(models["1.0.1"], folder)
    settings = json.loads((folder / "model-settings.json").read_text())
    change(settings)
    (folder / "model-settings.json").write_text(json.dumps(settings))
    status = await serving.deploy(hand_over(serving, folder, "odd"))
    assert status["state"] == "failed" and reason in status["reason"] and serving.instances == []


async def test_the_watcher_serves_a_handed_over_folder_and_close_stops_everything(tmp_path, models):
    folder = tmp_path / "serving"
    folder.mkdir()
    local = LocalServing(folder, ready_timeout=60)
    await local.start()
    try:
        # before any deploy the front says so, as JSON
        with pytest.raises(urllib.error.HTTPError) as info:
            await asyncio.to_thread(infer, local.url, [[40.0, 1.8, 12.0]])
        assert info.value.code == 503 and "no model is deployed" in json.loads(info.value.read())["error"]
        hand_over(local, models["1.0.2"], "watched", for_watcher=True)
        status_file = folder / "status" / "watched.json"
        deadline = time.monotonic() + 60
        while not (status_file.is_file() and json.loads(status_file.read_text())["state"] in ("serving", "failed")):
            assert time.monotonic() < deadline, "the watcher never took the request"
            await asyncio.sleep(0.2)
        assert json.loads(status_file.read_text())["state"] == "serving"
        assert await asyncio.to_thread(infer, local.url, [[48.0, 4.1, 12.0]]) != {}
        pid = local.instances[0].process.pid
    finally:
        await local.close()
    assert not alive(pid) and not (folder / "current.json").exists()
    with pytest.raises(urllib.error.URLError):
        await asyncio.to_thread(infer, local.url, [[48.0, 4.1, 12.0]], 2)


async def test_a_taken_front_port_falls_back_to_a_free_one(tmp_path):
    """Two users' servers may be configured with the same port: the second still serves."""
    first, second = LocalServing(tmp_path / "a"), None
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    await first.start()
    try:
        second = LocalServing(tmp_path / "b", port=first.port)
        await second.start()
        assert second.port not in (0, first.port)
        assert json.loads((tmp_path / "b" / "front.json").read_text())["url"] == second.url
    finally:
        await first.close()
        if second is not None:
            await second.close()


async def test_a_restarted_server_keeps_its_front_url(tmp_path):
    (tmp_path / "s").mkdir()
    first = LocalServing(tmp_path / "s")
    await first.start()
    url = first.url
    await first.close()
    again = LocalServing(tmp_path / "s")
    await again.start()
    try:
        assert again.url == url
    finally:
        await again.close()


async def test_a_model_server_that_dies_is_started_again(serving, models):
    """Meanwhile the front answers 502 with a JSON error (never hangs); then the same version again."""
    await serving.deploy(hand_over(serving, models["1.0.1"], "dies"))
    (instance,) = serving.instances
    os.kill(instance.process.pid, 9)
    await instance.process.wait()
    gap, deadline = [], time.monotonic() + 60
    while True:
        try:
            answer = await asyncio.to_thread(infer, serving.url, [[48.0, 4.1, 12.0]])
            break
        except urllib.error.HTTPError as exc:
            gap.append((exc.code, json.loads(exc.read())))
        assert time.monotonic() < deadline, "the model server was not started again"
        await asyncio.sleep(0.1)
    assert answer["model_version"] == "1.0.1"
    assert all(entry == (502, {"error": "the model server did not answer"}) for entry in gap), gap
    (revived,) = serving.instances
    assert revived.process.pid != instance.process.pid and revived.restarts == 1
    assert json.loads((serving.dir / "current.json").read_text())["restarts"] == 1


async def test_served_predictions_go_to_the_request_log(tmp_path, models, object_store):
    """The MLServer processes get the jobs' S3 env and PREDICTION_LOG_URI (the deploy job's from
    request.json, else the env's): the model folder's runtime logs each prediction through the
    front to the real store (tests/models/test_prediction_log.py tests the log itself)."""
    from minio import Minio

    creds = object_store.credentials
    admin = Minio(object_store.endpoint.removeprefix("http://"), creds.admin_access_key, creds.admin_secret_key,
                  secure=False)  # fmt: skip
    bucket = f"served-{os.urandom(6).hex()}"
    admin.make_bucket(bucket)
    env = {"S3_ENDPOINT": object_store.endpoint, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": creds.user_access_key,
           "AWS_SECRET_ACCESS_KEY": creds.user_secret_key, "PREDICTION_LOG_URI": f"s3://{bucket}/from-env",
           "PREDICTION_LOG_INTERVAL": "0.3"}  # fmt: skip
    (tmp_path / "serving").mkdir()
    local = LocalServing(tmp_path / "serving", ready_timeout=60, grace=5, env=env)
    await local.start()
    try:
        refused = await local.deploy(hand_over(local, models["1.0.1"], "bad", request={"prediction_log_uri": "http://x/y"}))
        assert refused["state"] == "failed" and "PREDICTION_LOG_URI must be s3://" in refused["reason"]
        first = await local.deploy(hand_over(local, models["1.0.1"], "r1", request={}))
        assert first["state"] == "serving" and first["prediction_log"] == f"s3://{bucket}/from-env"
        await asyncio.to_thread(infer, local.url, [[48.0, 4.1, 12.0]])
        second = await local.deploy(hand_over(local, models["1.0.2"], "r2",
                                              request={"prediction_log_uri": f"s3://{bucket}/from-job"}))  # fmt: skip
        assert second["prediction_log"] == f"s3://{bucket}/from-job"
        await asyncio.to_thread(infer, local.url, [[40.0, 1.8, 12.0]])
        day = time.strftime("%Y-%m-%d", time.gmtime())
        found, deadline = {}, time.monotonic() + 30
        while len(found) < 2:
            assert time.monotonic() < deadline, found
            for prefix, version in (("from-env", "1.0.1"), ("from-job", "1.0.2")):
                try:
                    response = admin.get_object(bucket, f"{prefix}/sensor-failure/{version}/{day}.jsonl")
                except Exception:  # noqa: BLE001 - NoSuchKey until the first upload
                    continue
                found[version] = [json.loads(line) for line in response.read().decode().splitlines()]
                response.close()
            await asyncio.sleep(0.2)
        assert [line["inputs"] for line in found["1.0.1"]] == [[[48.0, 4.1, 12.0]]]
        assert [line["outputs"]["predict"] for line in found["1.0.2"]] == [[0]]
        # the spool is the release's, and no key reached a file of it
        spool = local.dir / "releases" / "r2" / "prediction-log"
        assert list(spool.rglob("*.jsonl"))
        for path in (local.dir / "releases").rglob("*"):
            if path.is_file() and path.suffix in (".json", ".jsonl", ".log"):
                assert creds.user_secret_key not in path.read_text(errors="replace"), path
    finally:
        await local.close()


def test_the_local_backend_gives_its_model_server_the_jobs_env(tmp_path):
    """The env local jobs get (pipelines/service.py s3_job_env) is the env of the MLServer children."""
    from hybridhub.lab_ext.pipelines.local_backend import LocalBackend

    env = {"S3_ENDPOINT": "http://127.0.0.1:1", "AWS_ACCESS_KEY_ID": "key", "PREDICTION_LOG_URI": "s3://b/p"}
    assert LocalBackend(tmp_path, env=env).serving.env == env
