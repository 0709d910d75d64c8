"""Reading the warm-up's placeholders for one start (hybridhub.spawner.warm), directly.

Objects in the API's own shape: the scheduler's ``Preempted`` event on the victim is
kubernetes pkg/scheduler/framework/preemption/preemption.go (PrepareCandidate):
``"Preempted by pod %v on node %v"`` with the preemptor's UID, and the preemptor gets
``status.nominatedNodeName`` before it is bound (the same shapes the stand-in writes,
tests/kube/test_standin_priority.py).
"""

from __future__ import annotations

import pytest

from hybridhub.spawner.labels import POOL_LABEL, PROFILE_LABEL, WARMUP_LABEL
from hybridhub.spawner.messages import duration, message
from hybridhub.spawner.pod import profile_overrides
from hybridhub.spawner.profiles import ProfileCatalog
from hybridhub.spawner.warm import COMING, WARMED, WarmWatch

pytestmark = [pytest.mark.spawner, pytest.mark.warmup]


def placeholder(name, node="", created="2027-01-15T08:00:00Z"):
    return {"metadata": {"name": name, "creationTimestamp": created,
                         "labels": {WARMUP_LABEL: "true", POOL_LABEL: "gpua10"}},
            "spec": {"nodeName": node} if node else {}}


def user_pod(node="", nominated="", created="2027-01-15T08:02:00Z", uid="u-1"):
    status = {"nominatedNodeName": nominated} if nominated else {}
    return {"metadata": {"name": "jupyter-alice", "uid": uid, "creationTimestamp": created},
            "spec": {"nodeName": node} if node else {}, "status": status}


def preempted(victim, uid, node):
    return {"reason": "Preempted", "involvedObject": {"kind": "Pod", "name": victim},
            "message": f"Preempted by pod {uid} on node {node}"}


def test_a_preempted_placeholder_means_warmed_even_after_it_is_gone():
    watch = WarmWatch()
    watch.see([placeholder("ph", node="aks-gpua10-1")])
    watch.see([])  # the scheduler deleted it at once (grace period 0)
    news = watch.read(user_pod(), [preempted("ph", "u-1", "aks-gpua10-1")])
    assert (news.kind, news.node) == (WARMED, "aks-gpua10-1")
    # stays warmed whatever comes next
    assert watch.read(user_pod(node="aks-gpua10-1"), []).kind == WARMED


def test_someone_elses_preemption_or_an_unknown_victim_is_not_news():
    watch = WarmWatch()
    watch.see([placeholder("ph", node="aks-gpua10-1")])
    assert watch.read(user_pod(), [preempted("ph", "u-other", "aks-gpua10-1")]) is None
    assert watch.read(user_pod(), [preempted("image-puller", "u-1", "aks-gpua10-2")]) is None


def test_nominated_or_bound_to_a_placeholders_node_is_warmed():
    watch = WarmWatch()
    watch.see([placeholder("ph", node="aks-gpua10-1")])
    assert watch.read(user_pod(nominated="aks-gpua10-1"), []).node == "aks-gpua10-1"
    beside = WarmWatch()
    beside.see([placeholder("ph", node="aks-gpua10-1")])
    assert beside.read(user_pod(node="aks-gpua10-2"), []) is None  # another node: not the warm one
    assert beside.read(user_pod(node="aks-gpua10-1"), []).kind == WARMED


def test_a_booting_placeholder_gives_a_head_start_from_its_creation():
    watch = WarmWatch()
    watch.see([placeholder("late", created="2027-01-15T08:01:00Z"), placeholder("early")])
    news = watch.read(user_pod(created="2027-01-15T08:02:00Z"), [])
    assert (news.kind, news.head_start) == (COMING, 120.0)  # from the oldest request
    assert news.remaining(420) == 300 and news.remaining(100) == 0
    watch.see([])  # the warm-up deleted it so the node is the user's: the news stays
    assert watch.read(user_pod(created="2027-01-15T08:02:00Z"), []).head_start == 120.0
    # the node then joins with the placeholder already gone: warmed would be a guess, coming stays
    assert watch.read(user_pod(node="aks-gpua10-9"), []).kind == COMING


def test_nothing_seen_is_a_cold_start():
    watch = WarmWatch()
    watch.see([])
    assert watch.read(user_pod(), []) is None
    assert watch.read(None, []) is None


def test_the_placeholder_and_the_user_pod_share_the_contract_labels():
    # hub_ext's placeholder is read by the labels the spawner uses; both come from hybridhub.spawner.labels
    from hybridhub.hub_ext.warmup.manifest import placeholder_pod
    gpu = ProfileCatalog().get("gpu-a10")
    labels = placeholder_pod(gpu, "w1", "default")["metadata"]["labels"]
    assert labels[WARMUP_LABEL] == "true" and labels[POOL_LABEL] == "gpua10" and labels[PROFILE_LABEL] == "gpu-a10"
    assert profile_overrides(gpu)["extra_labels"] == {PROFILE_LABEL: "gpu-a10", POOL_LABEL: "gpua10"}


def test_messages_in_both_languages():
    assert (duration(45), duration(300), duration(89.4, "ja"), duration(420, "ja")) == ("45 s", "5 min", "89 秒", "7 分")
    assert message("node_warmed", "en", kind="GPU", node="n1") == (
        "A GPU node was warmed up for you (n1), so there is no wait for a new node: starting your server now.")
    assert message("node_warmed", "ja", kind="GPU", node="n1") == (
        "GPU ノード（n1）を事前に起動しておいたので、新しいノードを待つ必要はありません。サーバーをすぐに起動します。")
    assert message("node_coming", "ja", kind="GPU", pool="gpua10", ago="2 分", remaining="5 分", eta="7 分") == (
        "GPU ノードはすでに起動中です（ウォームアップが 2 分前に要求しました）。あと約 5 分で準備できます"
        "（gpua10 プールのノードは通常 7 分かかります）。")
    assert "any moment" in message("node_coming_late", "en", kind="GPU", pool="gpua10", ago="8 min", eta="7 min")


def test_an_image_already_on_the_node_is_not_said_to_be_downloaded():
    # kubernetes pkg/kubelet/images/image_manager.go: "Container image %q already present on machine" (no Pulling)
    from hybridhub.spawner.phases import Phase, observe
    main = {"kind": "Pod", "name": "jupyter-alice", "fieldPath": "spec.containers{notebook}"}
    spec = {"spec": {"containers": [{"name": "notebook", "image": "gpu:1"}], "nodeName": "n1"}}
    present = [{"reason": "Pulled", "message": 'Container image "gpu:1" already present on machine',
                "involvedObject": main}]
    seen = observe(spec, present)
    assert seen.phase == Phase.STARTING and seen.image_present
    pulled = [{"reason": "Pulling", "message": 'Pulling image "gpu:1"', "involvedObject": main},
              {"reason": "Pulled", "message": 'Successfully pulled image "gpu:1" in 3m0s', "involvedObject": main}]
    assert not observe(spec, pulled).image_present


def test_the_pods_own_scheduled_event_can_tell_before_the_pod_does():
    # KubeSpawner's pod and event reflectors are two watches: the Scheduled event may come first
    watch = WarmWatch()
    watch.see([placeholder("ph", node="aks-gpua10-1")])
    assert watch.read(None, [], node="aks-gpua10-2") is None
    assert watch.read(None, [], node="aks-gpua10-1").kind == WARMED


async def test_the_spawners_messages_for_each_kind_of_news(cluster, make_spawner):
    import time

    from hybridhub.spawner.phases import Observation, Phase
    from hybridhub.spawner.warm import WarmNews

    spawner = make_spawner(standin=cluster)
    profile = ProfileCatalog().get("gpu-a10")  # no cold start measured: 420 s
    spawner._profile, spawner._hybrid_started_at, spawner._hybrid_warm = profile, time.monotonic(), WarmWatch()

    def said(news, scale_up=False, phase=Phase.WAITING_FOR_NODE, node=""):
        spawner._hybrid_warm.news = news
        return [text for _, text in spawner._phase_messages(Observation(phase, scale_up, node=node), profile, "en")]

    assert said(WarmNews(COMING, head_start=120)) == [
        "A GPU node is already on its way: the warm-up asked for it 2 min ago. Ready in about 5 min (gpua10 nodes "
        "usually take 7 min)."]
    assert said(WarmNews(COMING, head_start=500)) == [
        "A GPU node is already on its way: the warm-up asked for it 8 min ago and gpua10 nodes usually take 7 min, "
        "so it should join any moment now."]
    # the autoscaler asked for a node for this pod itself (the warm-up's never joined): the cold ETA again
    assert said(WarmNews(COMING, head_start=120), scale_up=True) == [
        "Requesting a GPU node from the gpua10 pool — usually about 7 min."]
    assert said(WarmNews(WARMED, node="n1"), phase=Phase.SCHEDULED, node="n1") == [
        "A GPU node was warmed up for you (n1), so there is no wait for a new node: starting your server now.",
        "Node n1 is ready; your server is assigned to it."]
    assert said(None, scale_up=True) == ["Requesting a GPU node from the gpua10 pool — usually about 7 min."]


async def test_messages_keep_the_eta_the_start_was_given(cluster, make_spawner):
    # a fast start can end (and record its measured wait) before the progress first looks: the
    # "usually about" figure must still be the one the start began with (seen flaky under load)
    from hybridhub.spawner.phases import Observation, Phase

    spawner = make_spawner(standin=cluster)
    profile = ProfileCatalog().get("gpu-a10")
    spawner._profile, spawner._hybrid_eta = profile, None
    assert spawner._start_eta(profile) == 420
    spawner.history.record("gpua10", 2.0)
    assert spawner.eta_for(profile) == 2.0  # the next start's ETA
    texts = [t for _, t in spawner._phase_messages(Observation(Phase.RUNNING, True, node="n1"), profile, "en")]
    assert texts[0] == "Requesting a GPU node from the gpua10 pool — usually about 7 min."


def test_a_start_takes_the_oldest_placeholder_still_waiting_for_its_node():
    from hybridhub.spawner.warm import booting_placeholder

    def placeholder(name, created, node="", deleting=False):
        meta = {"name": name, "creationTimestamp": created, **({"deletionTimestamp": created} if deleting else {})}
        return {"metadata": meta, "spec": {"nodeName": node} if node else {}}

    waiting = [placeholder("b", "2026-12-07T08:02:00Z"), placeholder("a", "2026-12-07T08:01:00Z"),
               placeholder("old-going", "2026-12-07T07:00:00Z", deleting=True)]
    assert booting_placeholder(waiting) == "a"  # the node closest to joining; never one already being deleted
    assert booting_placeholder([]) is None
    # one holds a node already: the scheduler preempts that one for the user pod, none is taken
    assert booting_placeholder([*waiting, placeholder("c", "2026-12-07T08:00:00Z", node="aks-gpua10-0")]) is None
