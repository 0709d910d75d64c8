"""The template's demo traffic (ml/traffic.py) against the real MLServer 1.7.1 serving the template's
model folder with its runtime (the request log on) and a real SeaweedFS store: the log holds what
was sent, shifted when asked; the labels object one request_id,label per sent prediction, appended
across runs and never replaced when the store refuses the read; a bad --shift is a clear error."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from hybridhub.hub_ext.demo.objectstore import EmbeddedObjectStore, StorePorts
from hybridhub.hub_ext.demo.sample_data import sensor_csv
from hybridhub.lab_ext.pipelines.template import TEMPLATE_DIR

from ..conftest import STORE_MAX_VOLUMES, _random_credentials
from ..models.test_prediction_log import NAME, Server, log_env, model_folder, s3_env, servers, today, wait_for_lines  # noqa: F401
from .conftest import admin, bucket  # noqa: F401 (fixture)

pytestmark = pytest.mark.monitoring

SCRIPT = TEMPLATE_DIR / "ml" / "traffic.py"
WRITER = ("traffic-writer", "traffic-writer-secret-0123456789")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store of this module's own with one more identity that may write but not read: SeaweedFS's
    s3.json identities grant "Read" (GET) and "Write" (PUT) separately (weed/s3api/auth_credentials.go,
    the ACTION_READ / ACTION_WRITE checks of GetObject / PutObject)."""
    writer = {"name": WRITER[0], "credentials": [{"accessKey": WRITER[0], "secretKey": WRITER[1]}], "actions": ["Write"]}
    store = EmbeddedObjectStore(tmp_path_factory.mktemp("traffic-store"), StorePorts.free(), _random_credentials(),
                                identities=[writer], max_volumes=STORE_MAX_VOLUMES)  # fmt: skip
    store.start()
    try:
        yield store
    finally:
        store.stop()


def traffic(env: dict, *args: str, cwd=None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_", "HYBRIDHUB_S3_"))}
    return subprocess.run([sys.executable, str(SCRIPT), *args], env={**base, **env}, capture_output=True, text=True,
                          timeout=120, cwd=cwd)  # fmt: skip


def server_env(store) -> dict:
    """A hybridhub server's terminal: the storage settings under the spawner's names (spawner/envvars.py)."""
    env = s3_env(store)
    return {"HYBRIDHUB_S3_ENDPOINT": env["S3_ENDPOINT"], "HYBRIDHUB_S3_ACCESS_KEY": env["AWS_ACCESS_KEY_ID"],
            "HYBRIDHUB_S3_SECRET_KEY": env["AWS_SECRET_ACCESS_KEY"]}  # fmt: skip


def labels_of(store, bucket: str) -> list[dict]:  # noqa: F811
    body = admin(store).get_object(bucket, "labels/sensor-failure.csv").read().decode()
    assert body.startswith("request_id,label\n") and body.count("request_id,label") == 1
    return list(csv.DictReader(io.StringIO(body)))


def test_unshifted_then_shifted_traffic_is_logged_and_labelled(store, bucket, model_folder, tmp_path, servers):  # noqa: F811
    data = sensor_csv(25, seed=3)
    admin(store).put_object(bucket, "data/test.csv", io.BytesIO(data), len(data))
    rows = [([float(r[c]) for c in ("temperature_c", "vibration_mm_s", "current_a")], r["failure"])
            for r in csv.DictReader(io.StringIO(data.decode()))]  # fmt: skip
    servers.append(server := Server(model_folder, log_env(store, bucket, tmp_path / "spool"), tmp_path / "s.log"))
    common = ["--url", server.url, "--data", f"s3://{bucket}/data/test.csv", "--labels",
              f"s3://{bucket}/labels/sensor-failure.csv"]  # fmt: skip

    plain = traffic(s3_env(store), *common, "--rows", "40")
    assert plain.returncode == 0, plain.stderr
    assert "sent 40 predictions to sensor-failure (0 failed)" in plain.stdout and "shift: none; labels: 40" in plain.stdout
    # in the user's workspace, as the demo runs it: the locally served model (the local backend's
    # front.json, in a folder above) and the server's own storage settings
    serving = tmp_path / "home" / ".hybridhub" / "pipelines" / "serving"
    serving.mkdir(parents=True)
    (serving / "front.json").write_text(json.dumps({"url": server.url}))
    (tmp_path / "home" / "ml").mkdir()
    shifted = traffic(server_env(store), *common[2:], "--rows", "30", "--shift", "temperature_c=+6",
                      cwd=tmp_path / "home" / "ml")  # fmt: skip
    assert shifted.returncode == 0, shifted.stderr
    assert "sent 30 predictions" in shifted.stdout and "shift: temperature_c +6" in shifted.stdout

    lines = wait_for_lines(store, bucket, today(), 70)
    assert len(lines) == 70 and {line["model"] for line in lines} == {NAME}
    for i, line in enumerate(lines):
        values, _ = rows[(i if i < 40 else i - 40) % len(rows)]
        expected = values if i < 40 else [values[0] + 6, values[1], values[2]]
        assert line["inputs"] == [pytest.approx(expected)], (i, line)
    labels = labels_of(store, bucket)  # appended: the first run's 40 kept, the second's 30 added
    assert [label["request_id"] for label in labels] == [line["request_id"] for line in lines]
    assert len({label["request_id"] for label in labels}) == 70
    assert [label["label"] for label in labels] == [rows[(i if i < 40 else i - 40) % len(rows)][1] for i in range(70)]

    # a store that refuses the read (403: this identity may write, not read) must not lose the labels
    local = tmp_path / "test.csv"
    local.write_bytes(data)
    refused = traffic({**s3_env(store), "AWS_ACCESS_KEY_ID": WRITER[0], "AWS_SECRET_ACCESS_KEY": WRITER[1]},
                      "--url", server.url, "--data", str(local), "--rows", "5", "--labels",
                      f"s3://{bucket}/labels/sensor-failure.csv")  # fmt: skip
    assert refused.returncode == 1
    assert f"GET s3://{bucket}/labels/sensor-failure.csv failed: HTTP 403" in refused.stderr, refused.stderr
    assert WRITER[1] not in refused.stderr + refused.stdout
    assert [label["request_id"] for label in labels_of(store, bucket)] == [label["request_id"] for label in labels]


@pytest.mark.parametrize("spec, said", [
    ("temperature=+6", "--shift temperature=+6: no feature 'temperature' (features: temperature_c, vibration_mm_s, current_a)"),
    ("temperature_c=warm", "--shift temperature_c=warm: 'warm' is not a number"),
    ("temperature_c", "--shift temperature_c: expected FEATURE=AMOUNT, e.g. temperature_c=+6"),
    ("temperature_c=nan", "--shift temperature_c=nan: 'nan' is not a finite number"),
])  # fmt: skip
def test_a_bad_shift_is_a_clear_error_before_anything_is_sent(spec, said, tmp_path):
    done = traffic({}, "--url", "http://127.0.0.1:9", "--data", str(tmp_path / "absent.csv"), "--shift", spec)
    assert done.returncode == 1 and done.stderr.strip() == said and done.stdout == ""


def test_without_url_and_without_a_served_model_it_says_what_to_do(tmp_path):
    done = traffic({}, "--data", str(tmp_path / "absent.csv"), cwd=tmp_path)
    assert done.returncode == 1 and "no --url and no locally served model" in done.stderr
