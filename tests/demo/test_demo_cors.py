"""The demo's store answers CORS for the demo's pages only, with ``ETag`` exposed; the demo sets a
browser endpoint unless told not to.

The storage panel's direct uploads PUT each part from JupyterLab's page to a presigned UploadPart
URL on the store (another origin: another port) and must read each part's ``ETag`` to complete the
upload. Behaviour relied on, read in SeaweedFS's source (seaweedfs/seaweedfs, 4.44; the demo runs
4.48) and checked here against the real ``weed mini`` started as the demo starts it:
- ``-s3.allowedOrigins`` becomes the CORS rule of every bucket without one of its own
  (weed/s3api/s3api_bucket_cors_handlers.go, ``createFallbackCORSConfig``: methods GET, PUT,
  POST, DELETE, HEAD, any request header, ``ETag`` among ``ExposeHeaders``);
- a preflight whose origin no rule matches is answered 403 AccessDenied, an actual request from
  it is served without CORS headers (weed/s3api/cors/middleware.go, ``processCORS``), so that page
  can neither send the PUT nor read the answer.
"""

from __future__ import annotations

import os
import runpy
from datetime import timedelta

import pytest
import urllib3
from minio import Minio
from traitlets.config import Config

from hybridhub.hub_ext.demo import cli
from hybridhub.hub_ext.demo.hub_config import browser_origins
from hybridhub.hub_ext.demo.identities import user_bucket
from hybridhub.hub_ext.demo.layout import DemoPaths, DemoPorts, demo_usernames
from hybridhub.hub_ext.demo.secrets_file import load_or_create
from hybridhub.hub_ext.demo.seed import seed_user_buckets
from hybridhub.hub_ext.demo.supervisor import HUB_CONFIG
from tests.harness.demo import free_base

pytestmark = [pytest.mark.demo, pytest.mark.storage]

KEY = "uploads/direct.bin"
PART = b"direct part\n" * 1000


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    paths = DemoPaths(tmp_path_factory.mktemp("cors"))
    ports = DemoPorts.from_base(free_base())
    secrets = load_or_create(paths.secrets, demo_usernames())
    running = cli.demo_store(paths, ports, secrets)
    running.start()
    try:
        seed_user_buckets(running, secrets.users)
        yield running, ports, secrets
    finally:
        running.stop()


@pytest.fixture(scope="module")
def part_url(store) -> str:
    """A presigned UploadPart URL in alice's bucket, made with her keys as her server makes it."""
    running, _, secrets = store
    keys = secrets.users["alice"]
    alice = Minio(running.endpoint.split("//", 1)[1], keys.access_key, keys.secret_key, secure=False)
    upload_id = alice._create_multipart_upload(user_bucket("alice"), KEY, {})
    return alice.get_presigned_url("PUT", user_bucket("alice"), KEY, timedelta(minutes=5),
                                   extra_query_params={"partNumber": "1", "uploadId": upload_id})


def _preflight(url: str, origin: str) -> urllib3.BaseHTTPResponse:
    return urllib3.request("OPTIONS", url, headers={"Origin": origin, "Access-Control-Request-Method": "PUT",
                                                    "Access-Control-Request-Headers": "content-type"})


def _listed(header: str | None) -> set[str]:
    return {item.strip().lower() for item in (header or "").split(",") if item.strip()}


def test_the_demo_pages_may_put_parts_and_read_their_etag(store, part_url):
    _, ports, _ = store
    assert browser_origins(ports) == (f"http://127.0.0.1:{ports.public}", f"http://localhost:{ports.public}")
    for origin in browser_origins(ports):
        answer = _preflight(part_url, origin)
        assert answer.status == 200, answer.data
        assert answer.headers["Access-Control-Allow-Origin"] == origin  # that origin, not "*"
        assert "put" in _listed(answer.headers["Access-Control-Allow-Methods"])
        assert "content-type" in _listed(answer.headers["Access-Control-Allow-Headers"])
        assert "etag" in _listed(answer.headers["Access-Control-Expose-Headers"])

    origin = browser_origins(ports)[0]
    put = urllib3.request("PUT", part_url, body=PART, headers={"Origin": origin})
    assert put.status == 200, put.data
    assert put.headers["Access-Control-Allow-Origin"] == origin
    assert "etag" in _listed(put.headers["Access-Control-Expose-Headers"])
    assert put.headers["ETag"].strip('"')  # what the page reads to complete the upload


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.1:{other}", "null"])
def test_any_other_origin_is_refused(store, part_url, origin):
    _, ports, _ = store
    # another port on the same host is another origin too (e.g. a model server started in the demo)
    origin = origin.format(other=ports.mlflow)
    preflight = _preflight(part_url, origin)
    assert preflight.status == 403 and b"AccessDenied" in preflight.data
    assert "Access-Control-Allow-Origin" not in preflight.headers
    # the store serves a request the browser would not even send (no preflight passed), but
    # without CORS headers: the page could not read the answer or its ETag
    put = urllib3.request("PUT", part_url, body=PART, headers={"Origin": origin})
    assert "Access-Control-Allow-Origin" not in put.headers
    assert "Access-Control-Expose-Headers" not in put.headers


def _hub_config(tmp_path, monkeypatch, args: list[str]) -> Config:
    """The demo's jupyterhub_config.py loaded as JupyterHub loads it, with the demo's environment."""
    base = free_base()
    paths = DemoPaths(tmp_path)
    load_or_create(paths.secrets, demo_usernames())
    monkeypatch.setenv("HYBRIDHUB_DEMO_DIR", str(paths.root))
    monkeypatch.setenv("HYBRIDHUB_DEMO_PORT", str(base))
    monkeypatch.delenv("HYBRIDHUB_DEMO_KUBE_URL", raising=False)
    for name, value in cli.hub_environment(_parse(["demo", *args])).items():  # as start_hub hands it on
        monkeypatch.setenv(name, value)
    config = Config()
    runpy.run_path(str(HUB_CONFIG), init_globals={"get_config": lambda: config})
    return config


def test_the_demo_hub_sets_the_browser_endpoint(tmp_path, monkeypatch):
    config = _hub_config(tmp_path, monkeypatch, [])
    store_url = f"http://127.0.0.1:{DemoPorts.from_base(int(os.environ['HYBRIDHUB_DEMO_PORT'])).store.s3}"
    assert config.HybridSpawner.storage_endpoint == store_url
    assert config.HybridSpawner.storage_browser_endpoint == store_url


def test_no_direct_transfers_leaves_the_browser_endpoint_unset(tmp_path, monkeypatch):
    config = _hub_config(tmp_path, monkeypatch, ["--no-direct-transfers"])
    assert config.HybridSpawner.storage_endpoint
    assert "storage_browser_endpoint" not in config.HybridSpawner


def _parse(argv: list[str]):
    import argparse

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    return parser.parse_args(argv)
