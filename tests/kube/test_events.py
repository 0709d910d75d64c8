"""Events as the components record them and as the API server keeps them (manual clock).

Sources (github.com/kubernetes/kubernetes): staging/src/k8s.io/client-go/tools/events/event_recorder.go
and event_broadcaster.go (the scheduler's events.k8s.io/v1 events and series),
pkg/apis/events/v1/conversion.go (what core/v1 shows of them), pkg/scheduler/schedule_one.go (action
"Scheduling" / "Binding"), pkg/registry/core/event/storage/storage.go and kube-apiserver's --event-ttl
(1h, refreshed on every write), client-go tools/record/events_cache.go (count++ of identical events).
"""

from __future__ import annotations

import pytest

from .conftest import pod_manifest

pytestmark = pytest.mark.kube

PODS = "/api/v1/namespaces/default/pods"
EVENTS = "/api/v1/namespaces/default/events"


async def listed(http, reason):
    r = await http.get(EVENTS)
    assert r.status_code == 200
    return [e for e in r.json()["items"] if e["reason"] == reason]


async def test_scheduler_events_are_events_k8s_io_seen_through_core_v1(http, standin):
    await http.post(PODS, json=pod_manifest("huge", cpu="64"))
    await standin.clock.advance(0)
    [event] = await listed(http, "FailedScheduling")
    assert event["firstTimestamp"] is None and event["lastTimestamp"] is None and "count" not in event
    assert event["eventTime"].endswith("Z") and "." in event["eventTime"]           # MicroTime
    assert (event["action"], event["reportingComponent"], event["source"]) == ("Scheduling", "default-scheduler", {})
    assert event["reportingInstance"].startswith("default-scheduler-")
    assert "series" not in event
    # the same failure again (another pod makes the scheduler retry): a series, patched at once
    await http.post(PODS, json=pod_manifest("other", cpu="100m"))
    await standin.clock.advance(0)
    [event] = await listed(http, "FailedScheduling")
    assert event["series"]["count"] == 2
    [bound] = await listed(http, "Scheduled")
    assert (bound["action"], bound["involvedObject"]["name"]) == ("Binding", "other")
    # a third occurrence is only counted by the recorder: written once the series is quiet for 6 min
    await http.post(PODS, json=pod_manifest("third", cpu="100m"))
    await standin.clock.advance(0)
    assert (await listed(http, "FailedScheduling"))[0]["series"]["count"] == 2
    await standin.clock.advance(360)
    assert (await listed(http, "FailedScheduling"))[0]["series"]["count"] == 3


async def test_events_expire_an_hour_after_their_last_write_with_a_deleted_watch_event(http, standin):
    await http.post(PODS, json=pod_manifest("huge", cpu="64"))
    await standin.clock.advance(0)
    watcher, _ = standin.store.watch("events", "default", None)
    try:
        await standin.clock.advance(1800)
        # the autoscaler's NotTriggerScaleUp was counted again at 300 s intervals: its lease renewed
        [counted] = await listed(http, "NotTriggerScaleUp")
        assert counted["count"] > 1
        await standin.clock.advance(1800)
        assert await listed(http, "FailedScheduling") == []                      # written at 0, gone at 3600
        deleted = []
        while not watcher.queue.empty():
            change = watcher.queue.get_nowait()
            if change.type == "DELETED":
                deleted.append(change.obj["reason"])
        assert "FailedScheduling" in deleted
        assert await listed(http, "NotTriggerScaleUp") != []                      # its last write was later
    finally:
        watcher.close()


async def test_the_same_events_are_served_by_events_k8s_io_v1(http, standin):
    await http.post(PODS, json=pod_manifest("huge", cpu="64"))
    await standin.clock.advance(0)
    groups = (await http.get("/apis")).json()["groups"]
    assert [g["name"] for g in groups] == ["events.k8s.io", "scheduling.k8s.io", "apps"]
    body = (await http.get("/apis/events.k8s.io/v1/namespaces/default/events")).json()
    assert (body["kind"], body["apiVersion"]) == ("EventList", "events.k8s.io/v1")
    [failed] = [e for e in body["items"] if e["reason"] == "FailedScheduling"]
    assert failed["note"].startswith("0/1 nodes are available") and failed["regarding"]["name"] == "huge"
    assert failed["reportingController"] == "default-scheduler" and failed["eventTime"]
    assert "deprecatedFirstTimestamp" not in failed and "message" not in failed
    # an event of a core/v1 recorder: its timestamps and count are the deprecated fields, eventTime null
    # (kubernetes-client's EventsV1Event refuses such items: "Invalid value for `event_time`")
    [ca] = [e for e in body["items"] if e["reason"] == "NotTriggerScaleUp"]
    assert ca["eventTime"] is None and ca["deprecatedCount"] == 1
    assert ca["deprecatedSource"] == {"component": "cluster-autoscaler"}
    r = await http.post("/apis/events.k8s.io/v1/namespaces/default/events", json={})
    assert r.status_code == 405
    assert (await http.get("/apis/batch/v1")).status_code == 404
