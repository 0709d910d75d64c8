"""KubeSpawner's own reflectors (real, unmodified) against the stand-in:
a dropped watch is resumed, and a 410 Gone makes the reflector relist."""

from __future__ import annotations

import asyncio

import pytest

from .conftest import point_kubespawner_at, pod_manifest

pytestmark = pytest.mark.kube

LABELS = {"component": "singleuser-server"}


async def wait_for(predicate, timeout=10.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


@pytest.fixture
async def reflector(standin, monkeypatch):
    from kubespawner.spawner import PodReflector

    point_kubespawner_at(standin, monkeypatch)
    r = PodReflector(labels=LABELS, namespace="default", timeout_seconds=30, request_timeout=60)
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


def served(standin, kind):
    return standin.stats.get(kind, 0)


async def test_reflector_lists_and_follows(reflector, http):
    await http.post("/api/v1/namespaces/default/pods", json=pod_manifest("a", labels=LABELS))
    await http.post("/api/v1/namespaces/default/pods", json=pod_manifest("other"))
    await wait_for(lambda: "default/a" in reflector.pods)
    await http.delete("/api/v1/namespaces/default/pods/a", params={"gracePeriodSeconds": "0"})
    await wait_for(lambda: "default/a" not in reflector.pods)
    assert "default/other" not in reflector.pods  # the label selector was honoured


async def test_reflector_resumes_after_a_dropped_watch(reflector, standin, http):
    await wait_for(lambda: served(standin, "watch") >= 1)
    watches = served(standin, "watch")
    # drop every open connection, as a restarting API server or a broken network would
    await standin.server.close_all_connections()
    await http.post("/api/v1/namespaces/default/pods", json=pod_manifest("after-drop", labels=LABELS))
    await wait_for(lambda: "default/after-drop" in reflector.pods)
    assert served(standin, "watch") > watches
    assert not reflector.watch_task.done()


async def test_reflector_relists_after_410(reflector, standin, http):
    """Compaction between the reflector's list and its watch: the watch gets 410, the reflector relists."""
    await wait_for(lambda: served(standin, "watch") >= 1)
    original_watch = standin.store.watch
    armed = {"on": True}

    def compact_then_watch(plural, namespace, since_rv):
        if plural == "pods" and armed["on"] and since_rv is not None:
            armed["on"] = False
            standin.store.create("configmaps", "default", {"metadata": {"generateName": "bump-"}})
            standin.store.compact()
        return original_watch(plural, namespace, since_rv)

    standin.store.watch = compact_then_watch
    gone_before = served(standin, "gone")
    await standin.server.close_all_connections()       # make the reflector list + watch again
    await wait_for(lambda: served(standin, "gone") > gone_before)
    await http.post("/api/v1/namespaces/default/pods", json=pod_manifest("after-410", labels=LABELS))
    await wait_for(lambda: "default/after-410" in reflector.pods)
    assert not reflector.watch_task.done()
