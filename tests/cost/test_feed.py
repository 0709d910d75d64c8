"""From Kubernetes objects to the recorder: provisioning placeholders, deletions, pods, hub profiles.

The autoscaler behaviours the feed reads are those of cluster-autoscaler's source (see
tests/kube/test_autoscaler_failures.py and tests/kube/test_scaledown.py for the stand-in that
reproduces them, and tests/cost/test_standin_scaleups.py for the feed against it).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from fractions import Fraction as F

import pytest

from hybridhub.hub_ext.cost.feed import ClusterFeed, parse_time, scale_ups
from hybridhub.hub_ext.cost.ledger import LedgerError, micros_at_node_count
from hybridhub.hub_ext.cost.recorder import CostRecorder, is_placeholder

pytestmark = pytest.mark.cost

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
S = 1_000_000


def ts(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def us(seconds: int) -> int:
    return parse_time(ts(seconds))


def node(name, pool, created, tainted_at=None):
    body = {"metadata": {"name": name, "labels": {"agentpool": pool}, "creationTimestamp": ts(created)}}
    if tainted_at is not None:  # cluster-autoscaler utils/taints/taints.go: value = unix time of marking
        body["spec"] = {"taints": [{"key": "ToBeDeletedByClusterAutoscaler", "effect": "NoSchedule",
                                    "value": str(us(tainted_at) // S)}]}
    return body


def scale_up_event(uid, at, pool="gpu", before=0, after=1, count=1, pod="jupyter-alice"):
    return {"metadata": {"uid": uid}, "reason": "TriggeredScaleUp", "count": count, "lastTimestamp": ts(at),
            "involvedObject": {"kind": "Pod", "name": pod, "uid": f"uid-{pod}"},
            "message": f"pod triggered scale-up: [{{aks-{pool}-12345678-vmss {before}->{after} (max: 3)}}]"}


def not_triggered_event(uid, at, pod="jupyter-alice"):
    return {"metadata": {"uid": uid}, "reason": "NotTriggerScaleUp", "count": 1, "lastTimestamp": ts(at),
            "involvedObject": {"kind": "Pod", "name": pod, "uid": f"uid-{pod}"},
            "message": "pod didn't trigger scale-up: 1 in backoff after failed scale-up"}


def scale_down_event(uid, at, name):
    return {"metadata": {"uid": uid}, "reason": "ScaleDown", "count": 1, "lastTimestamp": ts(at),
            "involvedObject": {"kind": "Node", "name": name}, "message": "marked the node as toBeDeleted/unschedulable"}


def pod(user, node_name, bound, profile="gpu-a10", server="", deleting=False, phase="Running", cpu=None):
    meta = {"name": f"jupyter-{user}", "labels": {"component": "singleuser-server", "hybridhub/profile": profile},
            "annotations": {"hub.jupyter.org/username": user, "hub.jupyter.org/servername": server}}
    if deleting:
        meta["deletionTimestamp"] = ts(bound + 99999)
    resources = {"requests": {"cpu": cpu}} if cpu else {}
    return {"metadata": meta, "spec": {"nodeName": node_name, "containers": [{"name": "notebook", "resources": resources}]},
            "status": {"phase": phase, "conditions": [{"type": "PodScheduled", "status": "True",
                                                       "lastTransitionTime": ts(bound)}]}}


def seconds_at(rec, pool, a, b):
    return {n: v // S for n, v in micros_at_node_count(rec.ledger.intervals(), us(a), us(b), [pool])[pool].items() if v}


@pytest.fixture
def feed():
    clock = [0.0]
    f = ClusterFeed(CostRecorder({"cpu": F(10), "gpu": F(100)}), monotonic=lambda: clock[0])
    f.clock = clock
    return f


def test_scale_up_messages():
    assert scale_ups("pod triggered scale-up: [{aks-gpu-12345678-vmss 0->2 (max: 3)}]") == [("gpu", 2)]
    assert scale_ups("pod triggered scale-up: [{aks-cpu-1-vmss 1->2 (max: 3)} {aks-gpu-2-vmss 0->1 (max: 3)}]") == \
        [("cpu", 1), ("gpu", 1)]
    assert scale_ups("pod triggered scale-up: [{my-own-group 0->1 (max: 3)}]") == []  # not an AKS scale set
    assert scale_ups("") == [] and scale_ups("pod didn't trigger scale-up: max node group size reached") == []


def test_a_node_is_billed_from_the_scale_up_decision_until_its_vm_is_gone(feed):
    feed.event(scale_up_event("e1", 100))
    assert list(feed.rec.provisioning().values()) == [("gpu", us(100))]
    feed.node_event("ADDED", node("aks-gpu-12345678-vmss000000", "gpu", 400), us(405))
    assert feed.rec.provisioning() == {}
    feed.node_event("MODIFIED", node("aks-gpu-12345678-vmss000000", "gpu", 400), us(500))  # nothing new
    feed.event(scale_down_event("e2", 2000, "aks-gpu-12345678-vmss000000"))  # marked: still billed
    assert "aks-gpu-12345678-vmss000000" in feed.rec.ledger.up_nodes()
    feed.node_event("DELETED", node("aks-gpu-12345678-vmss000000", "gpu", 400), us(2030))  # seen within 65 s
    assert seconds_at(feed.rec, "gpu", 0, 3000) == {0: 1070, 1: 1930}
    feed.event(scale_up_event("e1", 100))  # replayed after a reconnect: already handled
    assert feed.rec.provisioning() == {}
    feed.event(scale_up_event("e1", 2500, count=2))  # the same event counted again: one more VM
    assert [p for p, _ in feed.rec.provisioning().values()] == ["gpu"]


def test_a_marked_node_is_billed_until_its_vm_is_deleted_not_until_seen(feed):
    # cluster-autoscaler core/scaledown/actuation: taint, VMSS instance deleted 5 s later; Azure deletes
    # the VM in about a minute (vm_delete_seconds 65 from the taint); the Node object may go later
    for i, name in enumerate(("aks-cpu-1-vmss000000", "aks-cpu-1-vmss000001")):
        feed.node_event("ADDED", node(name, "cpu", 10 * i), us(10 * i))
    feed.node_event("MODIFIED", node("aks-cpu-1-vmss000000", "cpu", 0, tainted_at=600), us(600))
    assert "aks-cpu-1-vmss000000" in feed.rec.ledger.up_nodes()      # the taint is not the end
    feed.node_event("DELETED", node("aks-cpu-1-vmss000000", "cpu", 0, tainted_at=600), us(700))
    feed.node_event("DELETED", node("aks-cpu-1-vmss000001", "cpu", 10), us(900))  # not marked: when seen
    assert seconds_at(feed.rec, "cpu", 0, 1000) == {0: 100, 1: 10 + 235, 2: 655}


def test_start_up_sync_applies_what_happened_while_away_in_time_order(feed):
    feed.node_event("ADDED", node("aks-cpu-1-vmss000000", "cpu", 0), us(0))
    feed.node_event("ADDED", node("aks-gpu-1-vmss000000", "gpu", 0), us(0))
    saved = feed.rec.to_dict(), feed.state()
    again = ClusterFeed(CostRecorder.from_dict(saved[0]))
    again.restore(saved[1])
    events = [scale_down_event("d1", 300, "aks-gpu-1-vmss000000"),  # went while we were away
              scale_up_event("u1", 200, pool="cpu", before=1, after=2),  # came and went unseen
              scale_down_event("d2", 900, "aks-cpu-1-vmss000001"),
              scale_up_event("u2", 1000)]  # still provisioning
    nodes = [node("aks-cpu-1-vmss000000", "cpu", 0)]
    again.sync(events, nodes, us(1200))
    # gone while away: its ScaleDown (marking) + 65 s; the cpu node came and went: 200 .. 900 + 65
    assert seconds_at(again.rec, "gpu", 0, 1200) == {0: 635, 1: 365 + 200}
    assert seconds_at(again.rec, "cpu", 0, 1200) == {1: 200 + 235, 2: 765}
    assert [is_placeholder(n) for n in again.rec.ledger.up_nodes()] == [False, True]


def test_pods_make_sessions_with_the_hubs_profile(feed):
    feed.node_event("ADDED", node("n1", "gpu", 0), us(0))
    feed.hub_users([{"name": "alice", "servers": {"": {"user_options": {"profile": "gpu-a10-large"}}}},
                    {"name": "bob", "servers": {"lab": {"user_options": {}}}}])
    assert feed.pod_event("ADDED", pod("alice", "n1", 60), us(61))
    assert feed.pod_event("MODIFIED", pod("bob", "n1", 120, profile="gpu-a10", server="lab"), us(121))
    assert not feed.pod_event("MODIFIED", pod("carol", None, 0), us(130))  # pending: no node, no session
    assert not feed.pod_event("MODIFIED", pod("alice", "n1", 60, deleting=True), us(600))
    feed.pods_listed([pod("bob", "n1", 120, profile="gpu-a10", server="lab")], us(1200))  # relist: bob still there
    split = feed.rec.attribution(us(0), us(1800))
    assert {k: v * 3600 / 100 for k, v in split.by_profile().items()} == \
        {"gpu-a10-large": 60 + 240, "gpu-a10": 240 + 1200, None: 60}
    feed.pods_listed([], us(1800))
    assert feed.rec.running == {}


def test_recorder_provisioning_and_clamping():
    rec = CostRecorder({"gpu": F(100)})
    a, b = rec.scale_up(us(0), "gpu", 2)
    assert a != b and is_placeholder(a)
    rec.node_joined(us(300), "gpu", "n1")  # takes the oldest placeholder
    assert rec.ledger.since("n1") == us(0)
    assert rec.expire_provisioning(us(3700), 3600 * S) == [b]  # never joined: costs nothing
    rec.node_up(us(3800), "gpu", "n2")
    rec.node_left(us(3700), "gpu", "n1")  # late news is clamped to the last observation, never rejected
    assert rec.ledger.up_nodes() == {"n2": "gpu"}
    assert seconds_at(rec, "gpu", 0, 4000) == {1: 4000}
    with pytest.raises(LedgerError):
        rec.ledger.rename("nope", "n2")
    with pytest.raises(LedgerError):
        rec.ledger.cancel("nope")


def test_a_node_seen_before_its_scale_up_event_is_billed_from_the_decision(feed):
    feed.node_event("ADDED", node("aks-cpu-1-vmss000000", "cpu", 0), us(0))  # there before: not claimed
    feed.node_event("ADDED", node("aks-gpu-1-vmss000000", "gpu", 400), us(400))  # the node watch was faster
    feed.event(scale_up_event("e1", 100))  # than the event watch
    feed.event(scale_up_event("e2", 200, pool="cpu", before=1, after=2))  # no cpu node joined since 200
    assert feed.rec.ledger.since("aks-gpu-1-vmss000000") == us(100)
    assert feed.rec.ledger.since("aks-cpu-1-vmss000000") == us(0)
    assert [p for p, _ in feed.rec.provisioning().values()] == ["cpu"]
    assert seconds_at(feed.rec, "gpu", 0, 1000) == {0: 100, 1: 900}


def test_servers_on_one_node_share_it_by_cpu_request(feed):
    feed.node_event("ADDED", node("n1", "cpu", 0), us(0))
    feed.pod_event("ADDED", pod("alice", "n1", 0, profile="cpu", cpu="500m"), us(0))
    feed.pod_event("ADDED", pod("bob", "n1", 0, profile="cpu", cpu="1.5"), us(0))
    feed.pod_event("ADDED", pod("carol", "n1", 0, profile="cpu", cpu="lots"), us(0))  # unreadable: 1 core
    by_user = feed.rec.attribution(us(0), us(3600)).by_user()
    assert by_user == {"alice": F(10, 6), "bob": F(30, 6), "carol": F(20, 6)}  # 10 per node-hour, 0.5:1.5:1
    equal = ClusterFeed(CostRecorder({"cpu": F(10)}), share_by_cpu=False)
    equal.node_event("ADDED", node("n1", "cpu", 0), us(0))
    for user, cpu in (("alice", "500m"), ("bob", "1500m")):
        equal.pod_event("ADDED", pod(user, "n1", 0, profile="cpu", cpu=cpu), us(0))
    assert equal.rec.attribution(us(0), us(3600)).by_user() == {"alice": 5, "bob": 5}


def test_the_hubs_servers_are_listed_with_their_node_when_placed(feed):
    from hybridhub.hub_ext.cost.summary import build_summary

    feed.node_event("ADDED", node("n1", "gpu", 0), us(0))
    feed.hub_users([{"name": "alice", "servers": {"": {"user_options": {"profile": "gpu-a10"}, "ready": True,
                                                       "started": ts(50)}}},
                    {"name": "bob", "servers": {"x": {"user_options": {}, "ready": False, "started": None}}}])
    feed.pod_event("ADDED", pod("alice", "n1", 60), us(61))
    servers = build_summary(feed.rec, us(100), F(1000), hub_servers=feed.hub_servers)["servers"]
    assert servers == [
        {"user": "bob", "server": "x", "profile": "", "node": "", "since": "", "ready": False},
        {"user": "alice", "server": "", "profile": "gpu-a10", "node": "n1", "since": ts(60), "ready": True},
    ]


def test_one_placeholder_per_node_of_a_scale_up_whatever_the_number_of_pods(feed):
    # processors/status/eventing_scale_up_processor.go: the same message on every pod of the scale-up
    for pod in ("a", "b", "c"):
        feed.event(scale_up_event(f"e-{pod}", 100, after=2, pod=f"jupyter-{pod}"))
    assert sorted(p for p, _ in feed.rec.provisioning().values()) == ["gpu", "gpu"]  # 0->2: two VMs
    feed.node_event("ADDED", node("aks-gpu-12345678-vmss000000", "gpu", 400), us(400))
    feed.node_event("ADDED", node("aks-gpu-12345678-vmss000001", "gpu", 410), us(410))
    assert feed.rec.provisioning() == {}
    assert seconds_at(feed.rec, "gpu", 0, 1000) == {0: 100, 2: 900}


def test_a_scale_up_that_yields_no_node_bills_nothing(feed):
    feed.event(scale_up_event("e-a", 100, pod="a"))
    feed.event(scale_up_event("e-b", 100, pod="b"))
    feed.pod_event("DELETED", pod("alice", None, 0), us(500))  # a pod that goes cancels nothing
    assert len(feed.rec.provisioning()) == 1
    # clusterstate.go: timed out at 1000, backed off; the next loop tells the pods
    feed.event(not_triggered_event("n-b", 1010, pod="b"))
    assert feed.rec.provisioning() == {}
    feed.event(scale_up_event("e-a", 1310, count=2, pod="a"))  # the same resize retried: a new decision
    assert list(feed.rec.provisioning().values()) == [("gpu", us(1310))]
    feed.event({"metadata": {"uid": "t1"}, "reason": "ScaleUpTimedOut", "count": 1, "lastTimestamp": ts(2210),
                "involvedObject": {"kind": "ConfigMap", "namespace": "kube-system", "name": "cluster-autoscaler-status"},
                "message": "Nodes added to group aks-gpu-12345678-vmss failed to register within 15m0s"})
    assert feed.rec.provisioning() == {}
    assert seconds_at(feed.rec, "gpu", 0, 3000) == {0: 3000}


def test_a_relist_applies_a_failed_scale_up_in_time_order(feed):
    events = [not_triggered_event("n-a", 1010, pod="a"), scale_up_event("e-a", 100, pod="a"),
              scale_up_event("e-b", 100, pod="b")]
    feed.sync(events, [], us(1200))
    assert feed.rec.provisioning() == {}
    assert seconds_at(feed.rec, "gpu", 0, 1200) == {0: 1200}
