"""Transfer reports under a real JupyterHub: a user server's own token reaches the cost service.

The hub of tests/cost/test_hub_service.py (the cost service as a hub service, users holding
``access:services!service=hybridhub-cost`` as docs/cost.md asks) plus: user servers with the
object store and ``HYBRIDHUB_COST_SERVICE_URL``, reporting every second; a reporter service
``ci-transfer`` listed in ``c.CostService.transfer_reporters`` and one that is not. No Kubernetes:
the service answers its API while it retries the cluster.

JupyterHub gives a server token the scopes of ``Spawner.server_token_scopes`` that its user holds
(jupyterhub/user.py ``spawn``, "JUPYTERHUB_API_TOKEN will be assigned the _subset_ of these
scopes that are held by the user"; ``roles.py``: the ``server`` role is ``users:activity!user``
and ``access:servers!server``); hybridhub's spawners add ``access:services!service=hybridhub-cost``.
"""

from __future__ import annotations

import re
import secrets
import textwrap
import time

import pytest
import requests

from tests.cost.test_hub_service import PREFIX, hub_config, token_for
from tests.harness.hub import ADMIN_PASSWORD, USER_PASSWORD, running_hub
from tests.hubclient import login, open_lab, stop_server

pytestmark = [pytest.mark.cost, pytest.mark.storage]

CI_TOKEN = secrets.token_hex(16)
OTHER_TOKEN = secrets.token_hex(16)


@pytest.fixture(scope="module")
def hub(tmp_path_factory, object_store):
    workdir = tmp_path_factory.mktemp("transfer-hub")
    config = hub_config(workdir, str(workdir / "no-kubeconfig"))
    cost_url = re.search(r'"url": "(http://127\.0\.0\.1:\d+)"', config).group(1) + "/" + PREFIX
    creds = object_store.credentials
    config += textwrap.dedent(f"""
        c.HybridSpawner.storage_endpoint = {object_store.endpoint!r}
        c.HybridSpawner.storage_access_key = {creds.user_access_key!r}
        c.HybridSpawner.storage_secret_key = {creds.user_secret_key!r}
        c.Spawner.environment = {{"HYBRIDHUB_COST_SERVICE_URL": {cost_url!r}}}
        c.Spawner.args = ["--TransferReporter.report_seconds=1"]
        cost = next(s for s in c.JupyterHub.services if s["name"] == "hybridhub-cost")
        cost["command"] += ["--CostService.egress_price_per_gb=20", "--CostService.transfer_reporters=ci-transfer"]
        c.JupyterHub.services += [{{"name": "ci-transfer", "api_token": {CI_TOKEN!r}}},
                                  {{"name": "other-service", "api_token": {OTHER_TOKEN!r}}}]
        c.JupyterHub.load_roles += [{{"name": "transfer-reporters", "scopes": ["access:services!service=hybridhub-cost"],
                                      "services": ["ci-transfer", "other-service"]}}]
    """)
    with running_hub(workdir, config, users=("alice", "bob", "carol")) as h:
        h.cost_url = cost_url
        deadline = time.monotonic() + 60
        while True:  # the service answers (its API is up before it reaches a cluster)
            try:
                if requests.get(h.cost_url + "api/transfer", timeout=5, allow_redirects=False).status_code in (302, 403):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, h.log()[-3000:]
            time.sleep(0.3)
        yield h


def figures(hub) -> dict:
    admin = token_for(login(hub.url, "admin", ADMIN_PASSWORD), "admin")
    r = requests.get(hub.url + PREFIX + "api/transfer", headers={"Authorization": f"token {admin}"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def report(hub, token: str, user: str, report_id: str, **counts) -> requests.Response:
    return requests.post(hub.url + PREFIX + "api/transfer", json={"id": report_id, "user": user, "bytes": counts},
                         headers={"Authorization": f"token {token}"}, timeout=30)


def test_a_servers_uploads_reach_the_cost_page_with_its_own_token(hub, admin_minio_bucket):
    session, api, xsrf = open_lab(hub.url, "alice", USER_PASSWORD, "storage")
    try:
        # the server's token: the server role's scopes plus reaching the cost service, nothing more
        listed = login(hub.url, "admin", ADMIN_PASSWORD).api("GET", "users/alice/tokens")
        assert listed.status_code == 200, listed.text
        tokens = listed.json()["api_tokens"]
        server_token = next(t for t in tokens if (t.get("note") or "").startswith("Server at"))
        scopes = set(server_token["scopes"])  # as the hub lists them (users:activity with its read scopes)
        assert {"users:activity!user=alice", "access:servers!server=alice/", "access:services!service=hybridhub-cost"} <= scopes
        assert {s for s in scopes if not s.endswith(("!user=alice", "!server=alice/"))} == {"access:services!service=hybridhub-cost"}
        assert not {s.split("!")[0] for s in scopes} & {"servers", "tokens", "users", "admin:users"}  # no more than that
        body = b"m" * 200_000
        put = session.session.put(api + "upload", params={"bucket": admin_minio_bucket, "key": "metered.bin"},
                                  data=body, headers={"X-XSRFToken": xsrf}, timeout=60)
        assert put.status_code in (200, 201), put.text
        got = session.session.get(api + "object", params={"bucket": admin_minio_bucket, "key": "metered.bin"}, timeout=60)
        assert got.content == body
        deadline = time.monotonic() + 30
        while True:
            f = figures(hub)
            if f["by_kind"]["download_proxied"] >= 200_000 and f["by_kind"]["upload_proxied"] >= 200_000:
                break
            assert time.monotonic() < deadline, (f, hub.log()[-3000:])
            time.sleep(0.5)
        assert (f["by_kind"]["upload_proxied"], f["by_kind"]["download_proxied"]) == (200_000, 200_000)
        alice = next(u for u in f["by_user"] if u["user"] == "alice")
        # each proxied byte crossed twice: 400,000 bytes in, 400,000 out, at 20 JPY per GB out
        assert f["bytes_in"] == f["bytes_out"] == 400_000 and alice["gb_out"] == "0.000"
        assert f["cost_exact"] == "0.007451"  # 400,000 / 2^30 GB x 20
    finally:
        stop_server(session, "alice")
    assert "Traceback" not in hub.log()


@pytest.fixture(scope="module")
def admin_minio_bucket(object_store):
    from tests.storage.conftest import minio_for, new_bucket

    c = object_store.credentials
    return new_bucket(minio_for(object_store, c.admin_access_key, c.admin_secret_key))


def test_who_may_report_for_whom_under_the_hub(hub):
    admin = login(hub.url, "admin", ADMIN_PASSWORD)
    # a token of alice's with only the access scope (what her server gets) reports for her only
    alice = admin.api("POST", "users/alice/tokens", json={"scopes": ["access:services!service=hybridhub-cost"]}).json()["token"]
    assert report(hub, alice, "alice", "h-a1", workspace_out=1000).status_code == 200
    refused = report(hub, alice, "bob", "h-a2", workspace_out=1000)
    assert (refused.status_code, refused.json()["reason"]) == (403, "transfer_other_user")
    # a token of hers without the access scope is refused by the hub's answer already
    bare = admin.api("POST", "users/alice/tokens", json={"scopes": ["read:users:name!user=alice"]}).json()["token"]
    refused = report(hub, bare, "alice", "h-a3", workspace_out=1000)
    assert (refused.status_code, refused.json()["reason"]) == (403, "transfer_forbidden")
    # the listed reporter service reports training reads for anyone; another service may not
    assert report(hub, CI_TOKEN, "bob", "h-c1", training_read=3000, cache_saved=9000).status_code == 200
    assert report(hub, CI_TOKEN, "bob", "h-c1", training_read=3000, cache_saved=9000).json()["recorded"] is False
    refused = report(hub, OTHER_TOKEN, "bob", "h-o1", training_read=3000)
    assert (refused.status_code, refused.json()["reason"]) == (403, "transfer_not_reporter")
    f = figures(hub)
    bob = next(u for u in f["by_user"] if u["user"] == "bob")
    assert f["by_kind"]["training_read"] == 3000 and f["by_kind"]["cache_saved"] == 9000 and bob["cost"] == "0.00"
    for token in (alice, bare, CI_TOKEN, OTHER_TOKEN):
        assert token not in hub.log()
