"""`hybridhub demo --kube`: a person's upload through her server is measured data transfer on the
cost service's /api/transfer and /transfer page, priced at the demo's egress price.

The real hub, cost service, Kubernetes stand-in and alice's server, as a newcomer runs them. The
upload takes the streamed path the panel falls back to without a browser endpoint
(``PUT /hybridhub/storage/upload``): browser -> cloud server -> office store, one crossing in and
one out per byte (cost/transfer.py ``CROSSINGS``). Her server reports every 60 s and at shutdown
(lab_ext/storage/metering.py); the test stops her server so the exit report carries the counts
(JupyterHub stops a server by deleting its pod; the stand-in, as the kubelet does, sends the pod's
process SIGTERM: tests/kube_standin/localproc.py). The admin console shows the same figures from the
summary file the cost service rewrites when the servers change (cost/service.py ``save``).

Time: 92 s in all on the 2-core test machine, 165 s while a full test run shared it; most of it is
the demo's own start (96 s of the 165) and stop. The test's steps, from the demo being up to the
figures on the cost page, took 32 s under that load (speed is not asserted here: timings belong in benchmarks).
"""

from __future__ import annotations

import time
from fractions import Fraction

import pytest

from hybridhub.hub_ext.console.humane import data_size
from hybridhub.hub_ext.demo.hub_config import DEMO_EGRESS_PRICE_PER_GB
from hybridhub.hub_ext.demo.identities import user_bucket
from tests.harness.demo import running_demo
from tests.hubclient import login, open_lab, stop_server

pytestmark = [pytest.mark.demo, pytest.mark.cost, pytest.mark.storage]

SIZE = 3 * 1024 * 1024  # 3 MiB: 6 MiB crossing the cloud's edge, 3 MiB of them billed egress


def test_an_upload_through_her_server_is_measured_and_priced_on_the_cost_pages(tmp_path):
    with running_demo(tmp_path / "d", "--kube", "--kube-speed", "60") as demo:
        url = demo["url"]
        admin = login(url, "admin", demo["admin_password"])
        cost = url + "services/hybridhub-cost/"
        before = admin.session.get(cost + "api/transfer", timeout=30)
        assert before.status_code == 200, before.text[:300]
        assert before.json()["bytes_in"] == before.json()["bytes_out"] == 0  # a fresh demo has measured nothing

        hub, api, xsrf = open_lab(url, "alice", demo["user_password"], "storage")
        body = bytes(range(256)) * (SIZE // 256)
        put = hub.session.put(api + "upload", params={"bucket": user_bucket("alice"), "key": "measured/upload.bin"},
                              data=body, headers={"X-XSRFToken": xsrf}, timeout=60)
        assert put.status_code in (200, 201), put.text[:300]
        stop_server(hub, "alice")  # her server's exit report

        deadline = time.monotonic() + 30
        while True:
            figures = admin.session.get(cost + "api/transfer", timeout=30).json()
            if figures["by_kind"]["upload_proxied"] >= SIZE:
                break
            assert time.monotonic() < deadline, figures
            time.sleep(0.5)
        assert figures["by_kind"]["upload_proxied"] == SIZE
        assert (figures["bytes_in"], figures["bytes_out"]) == (SIZE, SIZE)
        [alice] = [u for u in figures["by_user"] if u["user"] == "alice"]
        assert Fraction(figures["egress_price_per_gb"]) == Fraction(str(DEMO_EGRESS_PRICE_PER_GB)) > 0
        expected = Fraction(str(DEMO_EGRESS_PRICE_PER_GB)) * SIZE / (1 << 30)  # GB out x price; ingress is free
        assert Fraction(figures["cost_exact"]) == round(expected, 6) and Fraction(figures["cost"]) > 0
        assert alice["cost"] == figures["cost"]
        assert figures["currency"] == "JPY"

        page = admin.session.get(cost + "transfer", timeout=30, headers={"Accept-Language": "ja"})
        assert page.status_code == 200
        assert "クラウドとオフィスの間のデータ転送" in page.text and 'data-user="alice"' in page.text
        assert f'id="transfer-cost">{figures["cost"]} JPY<' in page.text
        assert f"{SIZE:,}" in page.text  # the bytes of uploads through the server
        # the admin console's cost section, from the cost service's summary file (rewritten when the
        # hub's servers change: alice's server stopped; until then it may hold the month before the report)
        shown = f'id="transfer-cost">¥{figures["cost"]}</td>'
        deadline = time.monotonic() + 30
        while True:
            console = admin.session.get(url + "services/hybridhub-console/", timeout=30)
            if console.status_code == 200 and shown in console.text:
                break
            assert time.monotonic() < deadline, (console.status_code, console.text[-1500:])
            time.sleep(1)
        assert f'id="transfer-gb-out">{data_size(figures["bytes_out"])}</td>' in console.text  # "3.0 MB"
        assert 'href="/services/hybridhub-cost/transfer" id="transfer-details"' in console.text
        # a person without the cost readers' scope does not see the figures
        bob = login(url, "bob", demo["user_password"])
        assert bob.session.get(cost + "api/transfer", timeout=30).status_code == 403
