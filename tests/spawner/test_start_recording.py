"""Every successful GPU start is recorded for the warm-up's prediction (issue 21): a real spawn of a
GPU profile in the stand-in writes one line the warm-up's history reads; a CPU start writes none."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from hybridhub.hub_ext.warmup.actuator import USER_POD_LABELS
from hybridhub.hub_ext.warmup.history import StartHistory
from hybridhub.hub_ext.warmup.manifest import POOL_LABEL

from .test_kube_spawner import spawn

pytestmark = [pytest.mark.spawner, pytest.mark.warmup]


async def test_a_gpu_start_is_recorded_in_the_site_zone(cluster, make_spawner, tmp_path):
    path = tmp_path / "starts.jsonl"
    spawner = make_spawner(standin=cluster, start_history_path=str(path), site_timezone="Asia/Tokyo")
    spawner.user_options = {"profile": "gpu-a10"}
    before = datetime.now(timezone.utc)
    await spawn(spawner)
    after = datetime.now(timezone.utc)
    [line] = path.read_text(encoding="utf-8").splitlines()
    raw = json.loads(line)
    assert raw["start"].endswith("+09:00")  # the site's zone, with its offset
    [record] = StartHistory(path).records()  # the warm-up reads what the spawner wrote
    assert (record.user, record.profile, record.pool, record.cold) == ("alice", "gpu-a10", "gpua10", True)
    assert before <= record.start <= after
    # the time the start was asked for (what the warm-up predicts), not the time the server was ready
    assert record.start <= after - timedelta(seconds=record.wait_seconds)
    assert record.start.utcoffset() == timedelta(hours=9) and raw["weekday"] == record.start.weekday()
    assert 0 < record.wait_seconds < (after - before).total_seconds() + 1
    # the same wait as the cold-start measurement the spawner keeps for its ETA
    cold = json.loads((tmp_path / "cold-starts.json").read_text())["gpua10"]
    assert cold == [record.wait_seconds]
    # the warm-up finds this pod on a warm node by these labels (hub_ext/warmup/actuator.py)
    labels = cluster.store.get("pods", "default", spawner.pod_name)["metadata"]["labels"]
    assert {**USER_POD_LABELS, POOL_LABEL: "gpua10"}.items() <= labels.items()
    await spawner.stop()


async def test_a_warm_gpu_start_is_recorded_not_cold_and_cpu_starts_are_not(cluster, make_spawner, tmp_path):
    first = make_spawner(standin=cluster)
    first.user_options = {"profile": "gpu-a10"}
    await spawn(first)
    await first.stop()
    second = make_spawner(standin=cluster, name="bob")  # the node is still up: no scale-up
    second.user_options = {"profile": "gpu-a10"}
    await spawn(second)
    cpu = make_spawner(standin=cluster, name="carol")
    cpu.user_options = {"profile": "cpu"}
    await spawn(cpu)
    # default file: next to the cold-start history
    records = StartHistory(tmp_path / "warmup-starts.jsonl").records()
    assert [(r.user, r.cold) for r in records] == [("alice", True), ("bob", False)]
    await second.stop()
    await cpu.stop()


def test_an_unknown_site_zone_is_refused(make_spawner, cluster):
    from traitlets import TraitError
    with pytest.raises(TraitError, match="unknown time zone 'Mars/Olympus'"):
        make_spawner(standin=cluster, site_timezone="Mars/Olympus")
