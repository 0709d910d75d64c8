"""Each demo user has her own S3 identity and bucket; the shared ``datasets`` bucket is read-only.

What the demo relies on, read in SeaweedFS's source (seaweedfs/seaweedfs, weed/s3api, 4.44; the
demo runs 4.48) and checked here against the real ``weed mini`` with the demo's own ``s3.json``:
- ``Identity.CanDo`` (auth_credentials.go): an action without a colon (``Read``) applies to every
  bucket; ``Read:<bucket>`` (no wildcard) matches ``<action>:<bucket>`` for any key in that bucket
  and nothing in other buckets; an identity without ``Admin`` cannot create buckets.
- Routes (s3api_server.go): PutObject, DeleteObject and DeleteMultipleObjects (POST ?delete,
  authorized per key) need ``Write``; GetObject needs ``Read``; ListBuckets needs ``List`` and
  shows only the buckets the identity may see (``scanVisibleBuckets``/``bucketVisibleToIdentity``
  in s3api_bucket_handlers.go).
"""

from __future__ import annotations

import io
import json
import secrets
from pathlib import Path

import psutil
import pytest
from kubernetes_asyncio.client import ApiClient
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import S3Error

from hybridhub.hub_ext.demo.identities import user_bucket
from hybridhub.hub_ext.demo.secrets_file import load_or_create
from hybridhub.spawner.settings import HybridSpawner
from hybridhub.spawner.storage_keys import StorageKeysError
from tests.harness.demo import running_demo
from tests.hubclient import open_lab
from tests.spawner.conftest import cluster, make_spawner  # noqa: F401 (fixtures: the Kubernetes stand-in)

pytestmark = [pytest.mark.demo, pytest.mark.storage]

SAMPLE_KEY = "sensors/train.csv"
BOB_KEY = "private/bob-notes.csv"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with running_demo(tmp_path_factory.mktemp("identities") / "demo") as running:
        yield running


@pytest.fixture(scope="module")
def saved(demo) -> dict:
    """The demo's own secrets file (0600 in its data directory): the keys it gave each identity."""
    return json.loads((demo["data_dir"] / "secrets.json").read_text())


def _client(demo, access: str, secret: str) -> Minio:
    store_port = demo["base"] + 3  # DemoPorts.from_base: the store's S3 port
    return Minio(f"127.0.0.1:{store_port}", access_key=access, secret_key=secret, secure=False)


def _user_client(demo, saved, username: str) -> Minio:
    keys = saved["users"][username]
    return _client(demo, keys["access_key"], keys["secret_key"])


def _admin_client(demo, saved) -> Minio:
    return _client(demo, saved["store"]["admin_access_key"], saved["store"]["admin_secret_key"])


def _denied(call) -> str:
    with pytest.raises(S3Error) as raised:
        call()
    return raised.value.code


def _put(client: Minio, bucket: str, key: str, body: bytes):
    return client.put_object(bucket, key, io.BytesIO(body), len(body))


def test_the_store_confines_each_identity_to_her_bucket_and_datasets_to_reading(demo, saved):
    admin, alice = _admin_client(demo, saved), _user_client(demo, saved, "alice")
    _put(admin, user_bucket("bob"), BOB_KEY, b"bob's\n")

    # her own area: write, read, delete (a multipart upload too: 6 MiB in 5 MiB parts)
    own = user_bucket("alice")
    _put(alice, own, "notes/a.txt", b"mine\n")
    alice.put_object(own, "big.bin", io.BytesIO(b"z" * (6 << 20)), 6 << 20, part_size=5 << 20)
    assert alice.get_object(own, "notes/a.txt").read() == b"mine\n"
    alice.remove_object(own, "notes/a.txt")
    assert [o.object_name for o in alice.list_objects(own, recursive=True)] == ["big.bin"]

    # datasets: read and list, never write or delete
    assert alice.get_object("datasets", SAMPLE_KEY).read().startswith(b"timestamp,temperature_c,")
    assert SAMPLE_KEY in [o.object_name for o in alice.list_objects("datasets", recursive=True)]
    assert _denied(lambda: _put(alice, "datasets", "uploads/alice.csv", b"x")) == "AccessDenied"
    assert _denied(lambda: alice.remove_object("datasets", SAMPLE_KEY)) == "AccessDenied"
    errors = list(alice.remove_objects("datasets", [DeleteObject(SAMPLE_KEY)]))
    assert [e.code for e in errors] == ["AccessDenied"]
    assert admin.stat_object("datasets", SAMPLE_KEY).size > 0

    # bob's area: nothing at all
    bob_bucket = user_bucket("bob")
    assert _denied(lambda: alice.get_object(bob_bucket, BOB_KEY)) == "AccessDenied"
    assert _denied(lambda: list(alice.list_objects(bob_bucket))) == "AccessDenied"
    assert _denied(lambda: alice.remove_object(bob_bucket, BOB_KEY)) == "AccessDenied"
    # (refused as a whole here, while in datasets, which she may read, each key is refused)
    assert _denied(lambda: list(alice.remove_objects(bob_bucket, [DeleteObject(BOB_KEY)]))) == "AccessDenied"
    assert _denied(lambda: _put(alice, bob_bucket, "from-alice.txt", b"x")) == "AccessDenied"
    assert admin.get_object(bob_bucket, BOB_KEY).read() == b"bob's\n"
    assert _denied(lambda: alice.make_bucket("alice-more")) == "AccessDenied"
    # and no shared user identity is left: every identity but the admin is one user's
    identities = json.loads((demo["data_dir"] / "objectstore" / "s3.json").read_text())["identities"]
    assert sorted(i["name"] for i in identities) == ["hybridhub-admin", "user-admin", "user-alice", "user-bob"]


def test_her_storage_panel_answers_access_denied_outside_her_area(demo, saved):
    admin = _admin_client(demo, saved)
    _put(admin, user_bucket("bob"), BOB_KEY, b"bob's\n")
    hub, api, xsrf = open_lab(demo["url"], "alice", demo["user_password"], "storage")
    session, write = hub.session, {"X-XSRFToken": xsrf}

    buckets = {b["name"] for b in session.get(api + "buckets", timeout=30).json()["buckets"]}
    assert buckets == {"datasets", user_bucket("alice")}

    own = {"bucket": user_bucket("alice"), "key": "panel/upload.csv"}
    put = session.put(api + "upload", params=own, data=b"a,b\n1,2\n", headers={**write, "Content-Type": "text/csv"}, timeout=60)
    assert put.status_code in (200, 201), put.text
    assert session.get(api + "object", params=own, timeout=30).content == b"a,b\n1,2\n"
    assert session.delete(api + "object", params=own, headers=write, timeout=30).status_code == 204
    assert session.get(api + "preview", params={"bucket": "datasets", "key": SAMPLE_KEY}, timeout=30).status_code == 200

    refused = [
        session.put(api + "upload", params={"bucket": "datasets", "key": "uploads/alice.csv"}, data=b"x",
                    headers={**write, "Content-Type": "text/csv"}, timeout=60),
        session.delete(api + "object", params={"bucket": "datasets", "key": SAMPLE_KEY}, headers=write, timeout=30),
        session.get(api + "object", params={"bucket": user_bucket("bob"), "key": BOB_KEY}, timeout=30),
        session.get(api + "list", params={"bucket": user_bucket("bob")}, timeout=30),
        session.delete(api + "object", params={"bucket": user_bucket("bob"), "key": BOB_KEY}, headers=write, timeout=30),
    ]
    answers = [(r.request.method, r.status_code, r.json().get("reason")) for r in refused]
    assert answers == [(r.request.method, 403, "access_denied") for r in refused], answers
    assert admin.stat_object("datasets", SAMPLE_KEY).size > 0
    assert admin.get_object(user_bucket("bob"), BOB_KEY).read() == b"bob's\n"
    for response in refused:
        for keys in saved["users"].values():
            assert keys["secret_key"] not in response.text and keys["access_key"] not in response.text


def _server_environ(demo, username: str) -> dict:
    for process in psutil.Process(demo["process"].pid).children(recursive=True):
        try:
            env = process.environ()
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        if env.get("JUPYTERHUB_USER") == username and "HYBRIDHUB_S3_ENDPOINT" in env:
            return env
    raise AssertionError(f"no running server process of {username}")


def test_each_server_holds_only_its_own_users_keys_and_no_log_holds_any(demo, saved):
    open_lab(demo["url"], "bob", demo["user_password"], "storage")
    env = _server_environ(demo, "bob")
    bob = saved["users"]["bob"]
    assert (env["HYBRIDHUB_S3_ACCESS_KEY"], env["HYBRIDHUB_S3_SECRET_KEY"]) == (bob["access_key"], bob["secret_key"])
    others = [k for name, keys in saved["users"].items() if name != "bob" for k in keys.values()]
    others += [saved["store"]["admin_access_key"], saved["store"]["admin_secret_key"]]
    values = "\n".join(env.values())
    assert not [k for k in others if k in values]
    assert not (demo["data_dir"] / "users" / "bob" / "storage-keys.json").exists()

    every_key = others + list(bob.values())
    log_files = [*(demo["data_dir"] / "logs").glob("*.log"), demo["data_dir"] / "objectstore" / "weed.log"]
    logs = [demo["output"].text] + [p.read_text(errors="replace") for p in log_files]
    assert len(logs) >= 3  # the demo's output, the hub's log (with the servers'), the store's
    assert not [k for k in every_key for text in logs if k in text]


# -- the spawner's per-user credential source (no demo needed) ----------------------------


def _keys_file(tmp_path: Path) -> Path:
    path = tmp_path / "s3-users.json"
    path.write_text(json.dumps({"alice": {"access_key": "AK-alice", "secret_key": "SK-alice"},
                                "bob": {"access_key": "AK-bob", "secret_key": "SK-bob"}}))
    return path


@pytest.mark.spawner
def test_spawner_hands_each_user_only_her_keys_from_the_credentials_file(tmp_path):
    settings = HybridSpawner(storage_endpoint="https://minio.corp:9000", storage_credentials_file=str(_keys_file(tmp_path)),
                             storage_access_key="AK-shared", storage_secret_key="SK-shared")
    env = settings.hybrid_env("bob")
    assert (env["HYBRIDHUB_S3_ACCESS_KEY"], env["HYBRIDHUB_S3_SECRET_KEY"]) == ("AK-bob", "SK-bob")
    assert not [v for v in env.values() if "alice" in v or "shared" in v]


@pytest.mark.spawner
@pytest.mark.parametrize("content", [None, "not json", "[]", '{"bob": {"access_key": "AK-bob"}}', '{"bob": "x"}'])
def test_a_user_without_keys_in_the_file_gets_no_server_and_no_shared_keys(tmp_path, content):
    path = tmp_path / "s3-users.json"
    if content is not None:
        path.write_text(content)
    settings = HybridSpawner(storage_endpoint="https://minio.corp:9000", storage_credentials_file=str(path),
                             storage_access_key="AK-shared", storage_secret_key="SK-shared")
    with pytest.raises(StorageKeysError) as raised:
        settings.hybrid_env("bob")
    assert "'bob'" in str(raised.value) or str(path) in str(raised.value)
    assert "SK-" not in str(raised.value)


@pytest.mark.spawner
def test_no_credentials_file_is_read_without_a_store(tmp_path):
    settings = HybridSpawner(storage_credentials_file=str(tmp_path / "missing.json"))
    assert not [name for name in settings.hybrid_env("bob") if name.startswith("HYBRIDHUB_S3_")]


def test_a_data_dir_from_before_per_user_keys_drops_the_shared_key(tmp_path):
    path = tmp_path / "secrets.json"
    old = {"user_password": "pw", "admin_password": "apw" * 11,
           "store": {"admin_access_key": "AKA", "admin_secret_key": "SKA",
                     "user_access_key": "AK-shared", "user_secret_key": "SK-shared-" + secrets.token_hex(4)}}
    path.write_text(json.dumps(old))
    loaded = load_or_create(path, ("alice", "bob"))
    assert loaded.store.admin_access_key == "AKA" and not loaded.store.user_access_key
    assert set(loaded.users) == {"alice", "bob"} and loaded.users["alice"] != loaded.users["bob"]
    assert old["store"]["user_secret_key"] not in path.read_text()
    assert path.stat().st_mode & 0o077 == 0
    assert load_or_create(path, ("alice", "bob")) == loaded  # kept across restarts


@pytest.mark.spawner
async def test_kubernetes_servers_can_take_their_keys_from_a_secret_per_user(cluster, make_spawner):  # noqa: F811
    """docs/storage.md: no keys in the hub at all, KubeSpawner's environment names a Secret per user."""
    ref = {"valueFrom": {"secretKeyRef": {"name": "s3-{username}", "key": "access-key"}}}
    spawner = make_spawner(name="bob", standin=cluster, storage_endpoint="https://minio.corp:9000",
                           environment={"HYBRIDHUB_S3_ACCESS_KEY": ref})
    await spawner.load_user_options()
    async with ApiClient() as api:
        pod = api.sanitize_for_serialization(await spawner.get_pod_manifest())  # what KubeSpawner sends
    env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
    assert env["HYBRIDHUB_S3_ACCESS_KEY"] == {"name": "HYBRIDHUB_S3_ACCESS_KEY",
                                              "valueFrom": {"secretKeyRef": {"name": "s3-bob", "key": "access-key"}}}
    assert env["HYBRIDHUB_S3_ENDPOINT"]["value"] == "https://minio.corp:9000"
