"""list + watch: resourceVersions, selectors, 410 Gone, timeouts, and real clients resuming."""

from __future__ import annotations

import asyncio
import json

import pytest
from kubernetes_asyncio import watch
from kubernetes_asyncio.client import ApiException

from .conftest import pod_manifest

pytestmark = pytest.mark.kube

PODS = "/api/v1/namespaces/default/pods"


async def _read_events(http, params, n=None, until=None, timeout=5):
    events = []
    async with http.stream("GET", PODS, params={"watch": "true", **params}, timeout=timeout) as r:
        assert r.status_code == 200
        async for line in r.aiter_lines():
            if line:
                events.append(json.loads(line))
            if (n and len(events) >= n) or (until and until(events[-1])):
                break
    return events


async def test_watch_from_resource_version_with_selector_transitions(http):
    rv = (await http.get(PODS)).json()["metadata"]["resourceVersion"]
    await http.post(PODS, json=pod_manifest("a", labels={"component": "singleuser-server"}))
    await http.post(PODS, json=pod_manifest("b", labels={"component": "other"}))
    merge = {"Content-Type": "application/merge-patch+json"}
    await http.patch(PODS + "/b", json={"metadata": {"labels": {"component": "singleuser-server"}}}, headers=merge)
    await http.patch(PODS + "/a", json={"metadata": {"labels": {"component": "gone"}}}, headers=merge)
    await http.delete(PODS + "/b", params={"gracePeriodSeconds": "0"})
    events = await _read_events(http, {"resourceVersion": rv, "labelSelector": "component=singleuser-server"},
                                until=lambda e: e["type"] == "DELETED" and e["object"]["metadata"]["name"] == "b")
    # the scheduler's MODIFIED events interleave; what matters is how b and a enter and leave
    got = [(e["type"], e["object"]["metadata"]["name"]) for e in events if e["type"] != "MODIFIED"]
    # b enters the selection (ADDED), a leaves it (DELETED), as the real API server reports it
    assert got == [("ADDED", "a"), ("ADDED", "b"), ("DELETED", "a"), ("DELETED", "b")]
    assert all(e["object"]["metadata"]["labels"]["component"] == "singleuser-server"
               for e in events if e["type"] != "DELETED")
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)


async def test_watch_without_resource_version_starts_with_current_state(http):
    await http.post(PODS, json=pod_manifest("a"))
    task = asyncio.create_task(_read_events(http, {}, 2))
    await asyncio.sleep(0.05)
    await http.post(PODS, json=pod_manifest("b"))
    events = await task
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events][:2] == [("ADDED", "a"), ("ADDED", "b")]


async def test_too_old_resource_version_gets_410_error_event(http, standin):
    rv = (await http.get(PODS)).json()["metadata"]["resourceVersion"]
    await http.post(PODS, json=pod_manifest("a"))
    standin.store.compact()
    events = await _read_events(http, {"resourceVersion": rv}, 1)
    assert events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
    assert "too old resource version" in status["message"]


async def test_history_window_expires_old_versions(tmp_path):
    from tests.kube_standin import KubeStandIn
    from .conftest import cluster_config
    config = cluster_config(history=3)
    s = KubeStandIn(config, manual_clock=True)
    rv = s.store.rv
    for i in range(5):
        s.store.create("configmaps", "default", {"metadata": {"name": f"c{i}"}})
    from tests.kube_standin.errors import ApiError
    with pytest.raises(ApiError) as info:
        s.store.watch("configmaps", "default", rv)
    assert info.value.code == 410
    _, backlog = s.store.watch("configmaps", "default", s.store.rv - 3)
    assert [c.obj["metadata"]["name"] for c in backlog] == ["c2", "c3", "c4"]


async def test_official_watch_raises_410_for_stale_version(core, standin):
    rv = (await core.list_namespaced_pod("default")).metadata.resource_version
    await core.create_namespaced_pod("default", pod_manifest("a"))
    standin.store.compact()
    w = watch.Watch()
    with pytest.raises(ApiException) as info:
        async with w.stream(core.list_namespaced_pod, "default", resource_version=rv, timeout_seconds=5) as s:
            async for _ in s:
                pass
    assert info.value.status == 410


async def test_timeout_seconds_ends_the_watch(http):
    loop = asyncio.get_running_loop()
    start = loop.time()
    async with http.stream("GET", PODS, params={"watch": "1", "timeoutSeconds": "1"}) as r:
        lines = [line async for line in r.aiter_lines() if line]
    elapsed = loop.time() - start
    assert lines == []
    assert 0.9 <= elapsed < 3


async def test_bookmarks_when_asked(http, standin):
    standin.bookmark_interval = 0.2
    async with http.stream("GET", PODS, params={"watch": "1", "timeoutSeconds": "2",
                                                "allowWatchBookmarks": "true"}) as r:
        async for line in r.aiter_lines():
            event = json.loads(line)
            break
    assert event["type"] == "BOOKMARK"
    assert event["object"]["metadata"]["resourceVersion"] == str(standin.store.rv)
