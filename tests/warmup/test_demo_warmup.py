"""`hybridhub demo --kube` runs the warm-up in its cost service: the cost page shows today's plan and
a placeholder pod appears in the Kubernetes stand-in when the plan's window opens.

The real hub, cost service and stand-in, as a newcomer runs them.  The GPU start history the
spawner would have recorded over the last working days is written before the demo starts (alice
starting gpu-a10 at the same minute each day, 10 minutes from now): with no cold start measured,
the window opens the pool's usual cold-start time (gpua10: 420 s) before it, about 3 minutes in.
"""

from __future__ import annotations

import subprocess
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
import yaml

from hybridhub.hub_ext.demo.layout import DemoPaths
from hybridhub.hub_ext.warmup.history import StartHistory, StartRecord
from hybridhub.spawner.profiles import ProfileCatalog
from tests.harness.demo import HYBRIDHUB, OutputReader, stop_demo
from tests.harness.demo import free_base as _free_base
from tests.hubclient import login

pytestmark = [pytest.mark.warmup, pytest.mark.demo, pytest.mark.cost]

TOKYO = ZoneInfo("Asia/Tokyo")  # the demo's site zone (demo/hub_config.py warmup_config)
LEAD = ProfileCatalog().get("gpu-a10").pool.usual_cold_start_seconds


def placeholders(kubeconfig: str) -> list[dict]:
    """The warm-up's pods, through the stand-in's API as any client sees them."""
    config = yaml.safe_load(open(kubeconfig, encoding="utf-8"))
    server = config["clusters"][0]["cluster"]["server"]
    token = config["users"][0]["user"]["token"]
    answer = requests.get(f"{server}/api/v1/namespaces/default/pods", params={"labelSelector": "hybridhub/warmup=true"},
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
    answer.raise_for_status()
    return answer.json()["items"]


def test_the_demo_warms_a_gpu_node_and_the_cost_page_shows_the_plan(tmp_path):
    paths = DemoPaths(tmp_path / "d")
    if (datetime.now(TOKYO) + timedelta(minutes=11)).date() != datetime.now(TOKYO).date():
        time.sleep((24 * 3600 - (datetime.now(TOKYO) - datetime.now(TOKYO).replace(
            hour=0, minute=0, second=0, microsecond=0)).total_seconds()) + 5)  # alice's start today, not tomorrow
    now = datetime.now(TOKYO).replace(second=0, microsecond=0)
    alice_at = now + timedelta(minutes=10)
    history = StartHistory(paths.hub / "warmup-starts.jsonl")
    for days in range(1, 6):  # every day is a working day in the demo
        history.append(StartRecord("alice", "gpu-a10", "gpua10", alice_at - timedelta(days=days), True, 430.0))
    base = _free_base()
    process = subprocess.Popen(
        [HYBRIDHUB, "demo", "--kube", "--kube-speed", "60", "--port", str(base), "--data-dir", str(paths.root)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        reader = OutputReader(process.stdout)
        password = reader.wait_for(r"alice, bob with password: (\S+)\n", 120, process).group(1)
        admin_password = reader.wait_for(r"admin \(administrator\) with password: (\S+)\n", 5, process).group(1)
        url = f"http://127.0.0.1:{base}/"
        admin = login(url, "admin", admin_password)
        report = {}
        deadline = time.monotonic() + 120
        while not (report.get("today") or {}).get("pools") and time.monotonic() < deadline:
            answer = admin.session.get(url + "services/hybridhub-cost/api/warmup", timeout=30)
            report = answer.json() if answer.status_code == 200 else {}
            time.sleep(2)
        assert report.get("enabled") and report["today"]["date"] == now.date().isoformat(), report
        [pool] = [p for p in report["today"]["pools"] if p["windows"]]
        [window] = pool["windows"]
        opens = alice_at - timedelta(seconds=LEAD)
        assert (pool["pool"], window["users"]) == ("gpua10", ["alice"])
        assert datetime.fromisoformat(window["start"]) == opens

        page = admin.session.get(url + "services/hybridhub-cost/warmup", timeout=30,
                                 headers={"Accept-Language": "ja"})
        assert page.status_code == 200 and "今日の計画" in page.text and "開始の見込み: alice" in page.text
        assert f"{opens:%H:%M}–{alice_at + timedelta(minutes=30):%H:%M}" in page.text

        kubeconfig = str(paths.root / "kube" / "kubeconfig.yaml")
        if datetime.now(TOKYO) < opens - timedelta(seconds=15):
            assert placeholders(kubeconfig) == []  # not before the window opens
        found = []
        while not found and datetime.now(TOKYO) < opens + timedelta(seconds=90):
            found = placeholders(kubeconfig)
            time.sleep(3)
        [pod] = found
        # created at the window's start by the runner's clock (the stand-in's own runs 60x faster)
        [held] = admin.session.get(url + "services/hybridhub-cost/api/warmup", timeout=30).json()["placeholders"]
        assert held["placeholder"] == pod["metadata"]["name"]
        assert opens <= datetime.fromisoformat(held["created"]) < opens + timedelta(seconds=60)
        assert pod["metadata"]["labels"]["hybridhub/pool"] == "gpua10"
        assert pod["spec"]["priorityClassName"] == "hybridhub-warmup-placeholder"
        bob = login(url, "bob", password)
        assert bob.session.get(url + "services/hybridhub-cost/api/warmup", timeout=30).status_code == 403
    finally:
        stop_demo(process)
