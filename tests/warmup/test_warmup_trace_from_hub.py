"""benchmarks/warmup_trace_from_hub.py: a site's month as a trace, from the cost service's state and the
spawner's GPU start history (the files the hub writes, written here by the same classes)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from hybridhub.hub_ext.cost.ledger import to_micros
from hybridhub.hub_ext.cost.recorder import CostRecorder
from hybridhub.hub_ext.cost.store import JsonStore
from hybridhub.spawner.starts import StartHistory, record_start

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from warmup_trace import TOKYO, read_trace  # noqa: E402

pytestmark = pytest.mark.warmup

DAY = datetime(2026, 11, 4, tzinfo=TOKYO)


@pytest.fixture
def hub_files(tmp_path):
    """ana's GPU server asked for at 09:00, bound at 09:07 (7 minutes for the node), stopped at 18:00; ben's CPU
    server bound at 10:00, stopped at 12:00; a named server of ana's, and ben's server still running."""
    rec = CostRecorder({"gpua10": 74.7, "cpu": 11.52})
    rec.server_started(to_micros(DAY.replace(hour=9, minute=7)), "ana", "", "gpu-a10", "aks-gpua10-0")
    rec.server_stopped(to_micros(DAY.replace(hour=18)), "ana", "")
    rec.server_started(to_micros(DAY.replace(hour=10)), "ben", "", "cpu", "aks-cpu-0")
    rec.server_stopped(to_micros(DAY.replace(hour=12)), "ben", "")
    rec.server_started(to_micros(DAY.replace(hour=11)), "ana", "big", "cpu", "aks-cpu-0")
    rec.server_stopped(to_micros(DAY.replace(hour=13)), "ana", "big")
    rec.server_started(to_micros(DAY.replace(hour=14)), "ben", "", "cpu", "aks-cpu-0")
    state = tmp_path / "hybridhub-cost.json"
    JsonStore(state).save({"recorder": rec.to_dict(), "feed": {}})
    starts = tmp_path / "warmup-starts.jsonl"
    record_start(StartHistory(starts), "ana", "gpu-a10", "gpua10", DAY.replace(hour=9), TOKYO, True, 420.0)
    return state, starts


def convert(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "warmup_trace_from_hub.py"), *args],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)


def test_the_trace_starts_at_the_spawn_request_and_leaves_out_what_it_cannot_replay(hub_files, tmp_path):
    state, starts = hub_files
    out = tmp_path / "month.jsonl"
    done = convert("--cost-state", str(state), "--starts", str(starts), "--timezone", "Asia/Tokyo", "--out", str(out))
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["sessions"] == 2
    assert summary["left_out"] == {"running": 1, "named_server": 1, "overlapping": 0}
    ana, ben = read_trace(out)  # the benchmark's own reader: the format is right
    assert (ana.user, ana.profile) == ("ana", "gpu-a10")
    assert ana.start == DAY.replace(hour=9) and ana.end == DAY.replace(hour=18)  # asked at 9, not bound at 9:07
    assert ana.start.utcoffset() == timedelta(hours=9)
    assert (ben.profile, ben.start, ben.end) == ("cpu", DAY.replace(hour=10), DAY.replace(hour=12))


def test_missing_or_damaged_files_are_one_clear_error(hub_files, tmp_path):
    state, starts = hub_files
    out = tmp_path / "month.jsonl"
    done = convert("--cost-state", str(tmp_path / "nope.json"), "--starts", str(starts), "--out", str(out))
    assert done.returncode == 2 and "nope.json: no such file" in done.stderr and not out.exists()
    done = convert("--cost-state", str(state), "--starts", str(tmp_path / "none.jsonl"), "--out", str(out))
    assert done.returncode == 2 and "none.jsonl: no such file" in done.stderr
    state.write_text("{not json", encoding="utf-8")
    done = convert("--cost-state", str(state), "--starts", str(starts), "--out", str(out))
    assert done.returncode == 2 and done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    done = convert("--cost-state", str(state), "--starts", str(starts), "--timezone", "Mars/Base", "--out", str(out))
    assert done.returncode == 2 and "Mars/Base" in done.stderr


def test_a_session_asked_for_before_the_previous_one_stopped_is_left_out():
    from hybridhub.hub_ext.cost.attribution import ServerSession
    from hybridhub.spawner.starts import StartRecord
    from warmup_trace_from_hub import trace_sessions

    at = lambda h, m=0: DAY.replace(hour=h, minute=m)  # noqa: E731
    first = ServerSession("ana", "gpu-a10", "n0", to_micros(at(9)), to_micros(at(10)))
    second = ServerSession("ana", "gpu-a10", "n1", to_micros(at(10, 5)), to_micros(at(12)))
    asked = StartRecord("ana", "gpu-a10", "gpua10", at(9, 55), True, 600.0)  # while the first still ran
    sessions, left_out = trace_sessions([second, first], [asked], TOKYO)
    assert [(s.start, s.end) for s in sessions] == [(at(9), at(10))] and left_out["overlapping"] == 1
    # a record older than MATCH_SECONDS before the binding is not this session's request
    late = ServerSession("ana", "gpu-a10", "n1", to_micros(at(11, 1)), to_micros(at(12)))
    sessions, _ = trace_sessions([first, late], [asked], TOKYO)
    assert sessions[1].start == at(11, 1)
