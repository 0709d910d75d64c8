"""Persistence: the figures survive a restart; a crash mid-write leaves the old file intact."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from fractions import Fraction as F

import pytest

from hybridhub.hub_ext.cost.budget import FixedCosts
from hybridhub.hub_ext.cost.ledger import HOUR
from hybridhub.hub_ext.cost.recorder import CostRecorder
from hybridhub.hub_ext.cost.store import JsonStore, StoreError

pytestmark = pytest.mark.cost

OLD = {"ledger": {"n": 1}, "text": "日本語"}


def test_round_trip(tmp_path):
    store = JsonStore(tmp_path / "sub" / "cost.json")
    assert store.load() is None
    store.save(OLD)
    assert JsonStore(store.path).load() == OLD
    store.save({"x": 2})
    assert store.load() == {"x": 2}
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["cost.json"]  # no temp files left


@pytest.mark.parametrize("crash_in", ["os.fsync", "os.replace"])
def test_crash_mid_write_keeps_old_file(tmp_path, crash_in):
    """A real crash: the writing process is SIGKILLed inside save(), after the temp file exists."""
    path = tmp_path / "cost.json"
    JsonStore(path).save(OLD)
    before = path.read_bytes()
    script = textwrap.dedent(f"""
        import os, signal
        from hybridhub.hub_ext.cost.store import JsonStore
        def crash(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)
        {crash_in} = crash
        JsonStore({str(path)!r}).save({{"big": "x" * 1_000_000}})
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert path.read_bytes() == before
    assert JsonStore(path).load() == OLD
    leftovers = [p for p in tmp_path.iterdir() if p.name != "cost.json"]
    assert len(leftovers) == 1 and leftovers[0].name.endswith(".tmp")  # the crash left its temp file
    JsonStore(path).save({"after": True})  # the next save cleans it up
    assert sorted(os.listdir(tmp_path)) == ["cost.json"]
    assert JsonStore(path).load() == {"after": True}


def test_failed_write_removes_temp_and_keeps_old(tmp_path, monkeypatch):
    store = JsonStore(tmp_path / "cost.json")
    store.save(OLD)
    with pytest.raises(TypeError):
        store.save({"bad": object()})  # not JSON: fails before any temp file is written
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("disk gone")))
    with pytest.raises(OSError, match="disk gone"):
        store.save({"new": 1})
    assert sorted(os.listdir(tmp_path)) == ["cost.json"]
    assert store.load() == OLD


@pytest.mark.parametrize("content, match", [
    ("{not json", "not a readable cost state"),
    ('{"version": 1}', "no data"),
    ('{"version": 7, "data": {}}', "version 7 is not supported"),
])
def test_corrupt_or_foreign_files(tmp_path, content, match):
    path = tmp_path / "cost.json"
    path.write_text(content)
    with pytest.raises(StoreError, match=match):
        JsonStore(path).load()


def test_recorder_survives_restart(tmp_path):
    start = 1_000 * HOUR
    rec = CostRecorder({"cpu": F("11.52"), "gpu": F("74.7")}, FixedCosts(F("3.36"), F("0.67"), 2, F(200)))
    rec.node_up(start, "cpu", "c1")
    rec.node_up(start + HOUR, "gpu", "g1")
    rec.server_started(start + HOUR, "alice", "", "gpu-small", "g1", weight=F(1, 3))
    rec.server_started(start + 2 * HOUR, "bob", "lab", "cpu", "c1")
    rec.server_stopped(start + 3 * HOUR, "alice", "")
    rec.node_down(start + 4 * HOUR, "gpu", "g1")
    store = JsonStore(tmp_path / "cost.json")
    store.save(rec.to_dict())
    json.loads((tmp_path / "cost.json").read_text())  # plain JSON on disk

    again = CostRecorder.from_dict(store.load())
    assert again.to_dict() == rec.to_dict()
    end = start + 720 * HOUR
    now = start + 10 * HOUR
    assert again.report(start, end, now, F(100000)) == rec.report(start, end, now, F(100000))
    # and it keeps recording where it left off
    again.server_stopped(start + 11 * HOUR, "bob", "lab")
    assert [s.user for s in again.finished] == ["alice", "bob"]


def test_recorder_report_figures():
    start = 1_000 * HOUR
    rec = CostRecorder({"cpu": F(10), "gpu": F(100)}, FixedCosts(F(1), F("0.5"), 2, F(720)))
    rec.node_up(start, "gpu", "g1")
    rec.server_started(start, "alice", "", "gpu-small", "g1")
    rec.server_started(start, "alice", "", "gpu-small", "g1")  # idempotent (hub restart re-poll)
    rec.server_stopped(start + 2 * HOUR, "alice", "")
    rec.resync_nodes(start + 3 * HOUR, {})  # listing after a reconnect: g1 is gone
    report = rec.report(start, start + 720 * HOUR, start + 72 * HOUR, F(10000))
    # 3 gpu node-h (2 alice, 1 idle) = 300; L 72; IPs 72; e 72 (720 · 72/720)
    assert report["month_to_date"]["total"] == "516"
    assert report["month_to_date"]["hours_at_node_count"] == {"cpu": ["72"], "gpu": ["69", "3"]}
    assert report["by_user"] == {"alice": "200", "(idle)": "100"}
    assert report["by_profile"] == {"gpu-small": "200", "(idle)": "100"}
    # projection: 30 gpu node-h = 3000, L 720, IPs 720, e 720
    assert report["projection"]["total"] == "5160"
    assert report["budget"] == {"amount": "10000", "level": "ok", "projected_percent": "51.6"}
    with pytest.raises(ValueError, match="not a cost recorder state"):
        CostRecorder.from_dict({"prices": {}})
