"""The API surface: server-filled metadata, strict validation, errors, patch."""

from __future__ import annotations

import base64

import pytest
from kubernetes_asyncio.client import ApiException

from tests.kube_standin.validation import validate_schema

from .conftest import pod_manifest

pytestmark = pytest.mark.kube

PODS = "/api/v1/namespaces/default/pods"


async def test_create_fills_server_metadata(http):
    r = await http.post(PODS, json=pod_manifest("a"))
    assert r.status_code == 201, r.text
    meta = r.json()["metadata"]
    assert meta["namespace"] == "default"
    assert len(meta["uid"]) == 36
    assert meta["creationTimestamp"].endswith("Z")
    assert int(meta["resourceVersion"]) > 0
    pod = r.json()
    assert pod["status"]["phase"] == "Pending"
    assert pod["spec"]["restartPolicy"] == "Always"           # defaulting
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"


async def test_client_status_and_uid_are_ignored_on_create(http):
    body = pod_manifest("b")
    body["metadata"]["uid"] = "mine"
    body["status"] = {"phase": "Running"}
    pod = (await http.post(PODS, json=body)).json()
    assert pod["metadata"]["uid"] != "mine"
    assert pod["status"]["phase"] == "Pending"


async def test_generate_name(http):
    body = pod_manifest("x")
    del body["metadata"]["name"]
    body["metadata"]["generateName"] = "jupyter-"
    pod = (await http.post(PODS, json=body)).json()
    assert pod["metadata"]["name"].startswith("jupyter-") and len(pod["metadata"]["name"]) == len("jupyter-") + 5


async def test_404_409_and_missing_namespace(http):
    r = await http.get(PODS + "/nope")
    assert r.status_code == 404
    assert r.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": 'pods "nope" not found', "reason": "NotFound", "code": 404,
                        "details": {"name": "nope", "kind": "pods"}}
    assert (await http.post(PODS, json=pod_manifest("dup"))).status_code == 201
    r = await http.post(PODS, json=pod_manifest("dup"))
    assert r.status_code == 409 and r.json()["reason"] == "AlreadyExists"
    r = await http.post("/api/v1/namespaces/ghost/pods", json=pod_manifest("p"))
    assert r.status_code == 404 and r.json()["message"] == 'namespaces "ghost" not found'


async def test_unknown_field_is_refused_strictly(http):
    body = pod_manifest("bad")
    body["spec"]["containers"][0]["imagePullPolcy"] = "Always"  # typo
    r = await http.post(PODS, json=body)
    assert r.status_code == 400
    assert r.json()["reason"] == "BadRequest"
    assert 'strict decoding error: unknown field "spec.containers[0].imagePullPolcy"' in r.json()["message"]
    assert (await http.get(PODS + "/bad")).status_code == 404


async def test_unknown_field_refused_even_when_the_client_asks_to_ignore(http):
    body = pod_manifest("bad")
    body["spec"]["nodeSelectr"] = {"a": "b"}
    r = await http.post(PODS, json=body, params={"fieldValidation": "Ignore"})
    assert r.status_code == 400 and 'unknown field "spec.nodeSelectr"' in r.json()["message"]


async def test_schema_violation_is_422_with_the_field(http):
    body = pod_manifest("bad")
    body["spec"]["containers"][0]["ports"] = [{"containerPort": "eighty"}]
    r = await http.post(PODS, json=body)
    assert r.status_code == 422
    status = r.json()
    assert status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == "spec.containers[0].ports[0].containerPort"
    assert "'eighty' is not of type 'integer'" in status["message"]


@pytest.mark.parametrize("mutate, field", [
    (lambda b: b["spec"]["containers"][0].pop("image"), "spec.containers[0].image"),
    (lambda b: b["metadata"].update(name="Not_A_Name"), "metadata.name"),
    (lambda b: b["spec"]["containers"][0]["resources"]["requests"].update(cpu="lots"),
     "spec.containers[0].resources.requests[cpu]"),
    (lambda b: b["metadata"]["labels"].update(app="no spaces allowed"), "metadata.labels"),
])
async def test_semantic_validation(http, mutate, field):
    body = pod_manifest("p")
    mutate(body)
    r = await http.post(PODS, json=body)
    assert r.status_code == 422, r.text
    assert field in r.json()["message"]


async def test_official_client_sees_422_as_api_exception(core):
    body = pod_manifest("p")
    body["spec"]["restartPolicy"] = 3
    with pytest.raises(ApiException) as info:
        await core.create_namespaced_pod("default", body)
    assert info.value.status == 422


@pytest.mark.parametrize("method, path, code, params", [
    ("GET", "/api/v1/namespaces/default/deployments", 404, None),
    ("GET", "/apis/apps/v1/deployments", 404, None),
    ("GET", "/api/v1/namespaces/default/pods/a/log", 404, None),
    ("GET", "/api/v1/namespaces/default/pods", 400, {"labelSelectr": "a=b"}),
    ("GET", "/api/v1/namespaces/default/pods", 400, {"fieldSelector": "spec.image=x"}),
    ("GET", "/api/v1/namespaces/default/pods", 400, {"labelSelector": "a in b"}),
    ("GET", "/api/v1/namespaces/default/pods", 400, {"watch": "maybe"}),
    ("GET", "/api/v1/namespaces/default/pods", 400, {"watch": "1", "timeoutSeconds": "0.5"}),
    ("GET", "/api/v1/namespaces/default/pods", 400, {"limit": "ten"}),
    ("DELETE", "/api/v1/namespaces/default/pods/a", 400, {"gracePeriodSeconds": "soon"}),
    ("POST", "/api/v1/nodes", 405, None),
    ("DELETE", "/api/v1/namespaces/default/pods", 405, None),
    ("HEAD", "/api/v1/namespaces/default/pods", 405, None),
    ("POST", "/api/v1/namespaces/default/pods", 400, {"dryRun": "All"}),
    ("POST", "/api/v1/namespaces/default/pods", 400, {"fieldValidation": "Lenient"}),
])
async def test_unknown_requests_fail_loudly(http, method, path, code, params):
    body = pod_manifest("z") if method == "POST" else None
    r = await http.request(method, path, params=params, json=body)
    assert r.status_code == code, r.text
    if method != "HEAD":
        assert r.json()["kind"] == "Status" and r.json()["code"] == code


async def test_token_is_required(standin):
    import httpx
    async with httpx.AsyncClient(base_url=standin.url) as c:
        r = await c.get("/api/v1/nodes")
    assert r.status_code == 401


async def test_resource_version_is_monotonic(http):
    seen = []
    for i in range(5):
        seen.append(int((await http.post(PODS, json=pod_manifest(f"m{i}"))).json()["metadata"]["resourceVersion"]))
        r = await http.patch(PODS + f"/m{i}", json={"metadata": {"labels": {"n": str(i)}}},
                             headers={"Content-Type": "application/merge-patch+json"})
        seen.append(int(r.json()["metadata"]["resourceVersion"]))
    lst = (await http.get(PODS)).json()
    seen.append(int(lst["metadata"]["resourceVersion"]))
    assert seen[:-1] == sorted(set(seen[:-1]))
    assert seen[-1] >= seen[-2]


async def test_label_and_field_selectors(http):
    await http.post(PODS, json=pod_manifest("web", labels={"component": "singleuser-server", "tier": "a"}))
    await http.post(PODS, json=pod_manifest("job", labels={"component": "job", "tier": "b"}))
    await http.post(PODS, json=pod_manifest("bare", labels={"x": "y"}))

    async def names(**params):
        r = await http.get(PODS, params=params)
        assert r.status_code == 200, r.text
        return [p["metadata"]["name"] for p in r.json()["items"]]
    assert await names(labelSelector="component=singleuser-server") == ["web"]
    assert await names(labelSelector="component!=job") == ["bare", "web"]
    assert await names(labelSelector="tier in (a,b),component") == ["job", "web"]
    assert await names(labelSelector="!component") == ["bare"]
    assert await names(labelSelector="tier notin (a)") == ["bare", "job"]
    assert await names(fieldSelector="metadata.name=job") == ["job"]
    assert await names(fieldSelector="status.phase=Pending,metadata.name!=job") == ["bare", "web"]


async def test_merge_and_strategic_merge_patch(http):
    body = pod_manifest("p")
    body["spec"]["containers"].append({"name": "sidecar", "image": "busybox:1.36"})
    await http.post(PODS, json=body)
    r = await http.patch(PODS + "/p", json={"metadata": {"labels": {"extra": "1", "app": None}}},
                         headers={"Content-Type": "application/merge-patch+json"})
    assert r.status_code == 200
    assert r.json()["metadata"]["labels"] == {"extra": "1"}
    # strategic merge: containers merge by name; only the image may change on a pod
    r = await http.patch(PODS + "/p", json={"spec": {"containers": [{"name": "sidecar", "image": "busybox:1.37"}]}},
                         headers={"Content-Type": "application/strategic-merge-patch+json"})
    assert r.status_code == 200, r.text
    images = {c["name"]: c["image"] for c in r.json()["spec"]["containers"]}
    assert images == {"notebook": "example.com/notebook:1", "sidecar": "busybox:1.37"}
    # the same body as a JSON merge patch would replace the list: refused (pod spec is immutable)
    r = await http.patch(PODS + "/p", json={"spec": {"containers": [{"name": "sidecar", "image": "busybox:1.37"}]}},
                         headers={"Content-Type": "application/merge-patch+json"})
    assert r.status_code == 422 and "pod updates may not change fields" in r.json()["message"]
    r = await http.patch(PODS + "/p", json=[{"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}}],
                         headers={"Content-Type": "application/json-patch+json"})
    assert r.status_code == 200 and r.json()["metadata"]["annotations"] == {"a": "b"}
    r = await http.patch(PODS + "/p", json={"metadata": {"labels": {"x": "y"}}},
                         headers={"Content-Type": "application/apply-patch+yaml"})
    assert r.status_code == 415
    r = await http.patch(PODS + "/p", json={"spec": {"$retainKeys": ["containers"]}},
                         headers={"Content-Type": "application/strategic-merge-patch+json"})
    assert r.status_code == 400


async def test_strategic_merge_delete_directive_on_service(http):
    svc = {"metadata": {"name": "s"}, "spec": {"selector": {"a": "b"}, "ports": [{"port": 80}, {"port": 81}]}}
    r = await http.post("/api/v1/namespaces/default/services", json=svc)
    assert r.status_code == 201, r.text
    assert r.json()["spec"]["clusterIP"].startswith("10.0.")
    r = await http.patch("/api/v1/namespaces/default/secrets/none", json={},
                         headers={"Content-Type": "application/merge-patch+json"})
    assert r.status_code == 404


async def test_put_with_stale_resource_version_conflicts(http):
    cm = (await http.post("/api/v1/namespaces/default/configmaps",
                          json={"metadata": {"name": "c"}, "data": {"k": "1"}})).json()
    cm2 = dict(cm, data={"k": "2"})
    r = await http.put("/api/v1/namespaces/default/configmaps/c", json=cm2)
    assert r.status_code == 200 and r.json()["data"] == {"k": "2"}
    r = await http.put("/api/v1/namespaces/default/configmaps/c", json=dict(cm, data={"k": "3"}))
    assert r.status_code == 409 and r.json()["reason"] == "Conflict"


async def test_secret_string_data_and_base64(http):
    r = await http.post("/api/v1/namespaces/default/secrets",
                        json={"metadata": {"name": "s"}, "stringData": {"token": "abc"}})
    assert r.status_code == 201
    assert r.json()["data"] == {"token": base64.b64encode(b"abc").decode()}
    assert "stringData" not in r.json()
    r = await http.post("/api/v1/namespaces/default/secrets",
                        json={"metadata": {"name": "t"}, "data": {"token": "not base64!"}})
    assert r.status_code == 400 and "illegal base64" in r.json()["message"]


async def test_namespace_lifecycle(core):
    await core.create_namespace({"metadata": {"name": "jhub"}})
    with pytest.raises(ApiException) as info:
        await core.create_namespace({"metadata": {"name": "jhub"}})
    assert info.value.status == 409
    await core.create_namespaced_pod("jhub", pod_manifest("p"))
    await core.delete_namespace("jhub")
    with pytest.raises(ApiException) as info:
        await core.read_namespaced_pod("p", "jhub")
    assert info.value.status == 404


async def test_list_exact_and_too_large_resource_versions(http):
    rv = int((await http.get(PODS)).json()["metadata"]["resourceVersion"])
    await http.post(PODS, json=pod_manifest("a"))
    r = await http.get(PODS, params={"resourceVersion": str(rv), "resourceVersionMatch": "Exact"})
    assert r.status_code == 410
    r = await http.get(PODS, params={"resourceVersion": str(rv + 1000), "resourceVersionMatch": "NotOlderThan"})
    assert r.status_code == 504
    r = await http.get(PODS, params={"resourceVersion": str(rv), "resourceVersionMatch": "NotOlderThan"})
    assert r.status_code == 200 and [p["metadata"]["name"] for p in r.json()["items"]] == ["a"]


async def test_limit_and_continue(http):
    for i in range(5):
        await http.post(PODS, json=pod_manifest(f"p{i}"))
    first = (await http.get(PODS, params={"limit": "2"})).json()
    assert [p["metadata"]["name"] for p in first["items"]] == ["p0", "p1"]
    assert first["metadata"]["remainingItemCount"] == 3
    rest = (await http.get(PODS, params={"limit": "10", "continue": first["metadata"]["continue"]})).json()
    assert [p["metadata"]["name"] for p in rest["items"]] == ["p2", "p3", "p4"]


async def test_objects_written_by_the_model_are_schema_valid(standin, http):
    """The stand-in's own nodes, events and pod statuses obey the schemas it enforces."""
    await http.post(PODS, json=pod_manifest("a", selector={"agentpool": "cpu"}))
    await standin.clock.advance(200)
    pod = standin.store.get("pods", "default", "a")
    assert pod["status"]["phase"] == "Running"
    for obj in [pod] + standin.store.list("nodes") + standin.store.list("events"):
        validate_schema(obj, obj["kind"])


async def test_discovery(http):
    version = (await http.get("/version")).json()
    assert (version["major"], version["minor"]) == ("1", "33")
    assert (await http.get("/api")).json()["versions"] == ["v1"]
    resources = {r["name"]: r for r in (await http.get("/api/v1")).json()["resources"]}
    assert set(resources) >= {"pods", "namespaces", "nodes", "events", "secrets", "services",
                              "persistentvolumeclaims"}
    assert resources["nodes"]["verbs"] == ["get", "list", "watch"]
    assert resources["pods"]["namespaced"] is True and resources["nodes"]["namespaced"] is False
