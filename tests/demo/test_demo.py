"""`hybridhub demo` as a new user runs it: start, log in, spawn, JupyterLab, Ctrl-C."""

from __future__ import annotations

import json
import re
import signal
import subprocess

import psutil
import pytest

from hybridhub.hub_ext.demo.layout import DemoPorts
from hybridhub.hub_ext.demo.ports import port_is_free
from tests.harness.demo import HYBRIDHUB, running_demo
from tests.harness.demo import free_base as _free_base
from tests.hubclient import login, start_server, stop_server

pytestmark = pytest.mark.demo

@pytest.fixture
def demo(tmp_path):
    with running_demo(tmp_path / "demo") as running:
        yield running


def test_demo_end_to_end_and_clean_stop(demo):
    hub = login(demo["url"], "alice", demo["user_password"])
    start_server(hub, "alice")

    lab = hub.session.get(demo["url"] + "user/alice/lab", timeout=60)
    assert lab.status_code == 200
    page_config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', lab.text, re.S).group(1))
    assert "hybridhub" in [ext["name"] for ext in page_config["federated_extensions"]]

    status = hub.session.get(demo["url"] + "user/alice/hybridhub/status", timeout=30)
    assert status.status_code == 200, status.text
    body = status.json()
    assert body["storage"]["configured"] is True
    assert body["storage"]["endpoint"] == f"http://127.0.0.1:{DemoPorts.from_base(demo['base']).store.s3}"
    assert body["storage"]["default_bucket"] == "datasets"
    assert body["git"]["remote_configured"] is True
    # the browser learns that credentials exist, never what they are
    assert "secret" not in status.text.lower() and "access_key" not in status.text

    # the admin can log in too, with the admin password only
    admin = login(demo["url"], "admin", demo["admin_password"])
    assert admin.api("GET", "users").status_code == 200
    # the culler runs as a hub service and answers admins
    assert "hybridhub-culler" in admin.api("GET", "services").json()
    decisions = admin.session.get(demo["url"] + "services/hybridhub-culler/decisions", timeout=30)
    assert decisions.status_code == 200, decisions.text

    demo_process = psutil.Process(demo["process"].pid)
    children = demo_process.children(recursive=True)
    assert len(children) >= 4  # object store, hub, proxy, alice's server

    demo["process"].send_signal(signal.SIGINT)
    assert demo["process"].wait(60) == 0
    assert "hybridhub demo: stopped." in demo["output"].join()
    gone, alive = psutil.wait_procs(children, timeout=5)
    assert alive == []
    ports = DemoPorts.from_base(demo["base"])
    assert all(port_is_free(p) for p in ports.named())


def test_demo_stop_server_then_restart_keeps_work(demo):
    hub = login(demo["url"], "bob", demo["user_password"])
    start_server(hub, "bob")
    stop_server(hub, "bob")
    home = demo["data_dir"] / "users" / "bob"
    assert (home / "getting-started.ipynb").exists()
    log = subprocess.run(["git", "-C", str(home), "log", "--oneline", "origin/main"], capture_output=True, text=True)
    assert "Start the notebook repository" in log.stdout


def test_second_demo_on_same_data_dir_refuses_without_harm(demo):
    # different ports, same data: refused by the lock, with one clear line
    other = subprocess.run(
        [HYBRIDHUB, "demo", "--port", str(_free_base()), "--data-dir", str(demo["data_dir"])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert other.returncode == 2
    assert other.stderr.count("\n") == 1 and "already using" in other.stderr and "Traceback" not in other.stderr
    # the first demo still serves its users
    hub = login(demo["url"], "alice", demo["user_password"])
    assert hub.api("GET", "users/alice").status_code == 200


def test_port_in_use_is_one_clear_line(demo, tmp_path):
    busy = subprocess.run(
        [HYBRIDHUB, "demo", "--port", str(demo["base"]), "--data-dir", str(tmp_path / "other")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert busy.returncode == 2
    assert busy.stderr.count("\n") == 1
    assert f"port {demo['base']} on 127.0.0.1 is already in use" in busy.stderr and "--port" in busy.stderr


def test_killed_demo_leaves_no_process_behind(demo):
    """Even SIGKILL of the supervisor (no chance to clean up) takes its children down."""
    hub = login(demo["url"], "alice", demo["user_password"])
    start_server(hub, "alice")
    children = psutil.Process(demo["process"].pid).children(recursive=True)
    demo["process"].kill()
    demo["process"].wait()
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert alive == [], [p.cmdline() for p in alive]
    assert all(port_is_free(p) for p in DemoPorts.from_base(demo["base"]).named())
