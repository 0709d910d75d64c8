"""Property-based test over the served OpenAPI description (schemathesis + hypothesis).

For every operation, generated valid and invalid requests go to a real jupyter server with
the extension (real SeaweedFS, a git repository as the workspace, the local pipeline backend).
Every answer must be below 500, documented for the operation and, when an error, JSON with a
reason code the description lists for that status; the server logs no traceback; nothing
beside the workspace changes although ``link-out`` in it points there. Derandomized: CI runs
the same requests every time; a failure prints the request as a curl command.
"""

from __future__ import annotations

import copy
import json
import time
from collections import Counter
from http.cookiejar import DefaultCookiePolicy

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from .conftest import OBJECTS, make_site, snapshot

pytestmark = pytest.mark.api

MIN_REQUESTS = 5000
#: headers that frame the HTTP message itself: a bad one is refused by tornado's HTTP/1 parser
#: (a bare "400 Bad Request", before any handler), so generated values of them are dropped
FRAMING = {"content-length", "transfer-encoding", "host", "connection"}
#: cases per operation: valid ones (examples mixed in), invalid ones, valid ones whose named
#: fields take only the values below (the real bucket and objects, paths through the link out),
#: and for JSON routes bodies that are no JSON object
MODES = [("valid", schemathesis.GenerationMode.POSITIVE, 45), ("invalid", schemathesis.GenerationMode.NEGATIVE, 40),
         ("targeted", schemathesis.GenerationMode.POSITIVE, 35), ("raw", schemathesis.GenerationMode.POSITIVE, 25)]  # fmt: skip
#: request bodies that are no JSON object, with a Content-Type ("raw" mode, JSON routes only)
RAW_BODIES = st.tuples(
    st.one_of(st.binary(max_size=300), st.text(max_size=100).map(str.encode),
              st.sampled_from([b"[]", b"null", b"1e999", b"NaN", b'{"a": ' * 70 + b"1" + b"}" * 70, b'"\\ud800"',
                               b'{"path": "\\u0000"}', b"\xff\xfe{}"])),
    st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]))  # fmt: skip
PATHS = ["", "ml", "link-out", "link-out/repo", "link-out/new.txt", "link-out/secret.txt", "link-out/empty/x",
         "../outside", "ml/../../outside", "/etc", "README.md", "new-folder"]  # fmt: skip


def targets(bucket: str) -> dict[str, list]:
    return {"bucket": [bucket, "no-such-bucket"], "key": [*OBJECTS, "missing.csv", "../x", "link-out/x"],
            "prefix": ["data/", "new/", ""], "path": PATHS, "directory": PATHS,
            "project": [".", "link-out/repo", "../outside", "ml/.."], "ref": ["main", "nope"],
            "name": ["feature-1", "main", "@", "refs/heads/x", "-x"], "message": ["a commit", ""],
            "files": [["README.md"], ["link-out/secret.txt"], ["../outside/secret.txt"]],
            "overwrite": [True, False]}  # fmt: skip


def with_targets(description: dict, bucket: str, only: bool) -> dict:
    """The description with the :func:`targets` as ``examples`` of the fields so named (which
    hypothesis mixes into its data), or with ``only`` as their only values."""
    values = targets(bucket)

    def aim(schema: dict, name: str) -> dict:
        if name not in values:
            return schema
        return {"enum": values[name]} if only else {**schema, "examples": values[name]}

    described = copy.deepcopy(description)
    for item in described["paths"].values():
        for operation in item.values():
            for param in operation.get("parameters", []):
                if param["in"] == "query":
                    param["schema"] = aim(param["schema"], param["name"])
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            properties = body["schema"].get("properties", {}) if body else {}
            for name in properties:
                properties[name] = aim(properties[name], name)
    return described


def sent_headers(generated: dict, token: str) -> dict:
    """The generated headers, with the server's token and without framing headers or cookies."""
    kept = {k: v for k, v in generated.items() if k.lower() not in FRAMING | {"authorization", "cookie"}}
    return {**kept, "Authorization": f"token {token}"}


def reproduce(request: dict) -> str:
    """The request as sent (token hidden), to repeat it by hand."""
    shown = {**request, "headers": {**request["headers"], "Authorization": "token <token>"}}
    return repr(shown)[:3000]


def problem(operation: dict, response: requests.Response) -> str | None:
    """What is wrong with ``response`` for ``operation`` (None: nothing)."""
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    documented = operation["responses"].get(str(status))
    if documented is None:
        return f"status {status} is not in the description"
    if "Traceback" in response.text:
        return "a traceback in the answer"
    if status < 400:
        return None
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        return f"error {status} is not JSON"
    try:
        error = response.json()
    except ValueError:
        return f"error {status} is not valid JSON"
    allowed = documented["content"]["application/json"]["schema"]["allOf"][1]["properties"]["reason"]["enum"]
    if not isinstance(error, dict) or error.get("reason") not in allowed or not isinstance(error.get("message"), str):
        return f"error {status} without a reason code the description lists for it ({allowed}): {error}"
    return None


def test_generated_requests_never_fail_the_server(lab):
    headers = {"Authorization": f"token {lab.token}"}
    served = requests.get(f"{lab.url}hybridhub/openapi.json", headers=headers, timeout=30).json()
    schemas = {only: schemathesis.openapi.from_dict(with_targets(served, lab.bucket, only)) for only in (False, True)}
    before = snapshot(lab.site, lab.root)
    session = requests.Session()
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # the token, never a login cookie
    base = lab.url.rstrip("/") + "/hybridhub"
    counts: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    started = time.monotonic()

    def send(name: str, label: str, described: dict, request: dict) -> None:
        request["headers"] = sent_headers(request["headers"], lab.token)
        try:
            response = session.request(**request, timeout=60, allow_redirects=False)
        except requests.ConnectionError as error:
            raise AssertionError(f"no answer ({error}) ({name})\nrequest: {reproduce(request)}") from None
        counts[label] += 1
        statuses[f"{label} {response.status_code}"] += 1
        wrong = problem(described, response)
        assert wrong is None, f"{wrong} ({name})\nrequest: {reproduce(request)}\nanswer: {response.text[:500]}"

    for name, mode, examples in MODES:
        for result in schemas[name == "targeted"].get_all_operations():
            operation = result.ok()
            label = f"{operation.method.upper()} {operation.path}"
            described = served["paths"][operation.path][operation.method.lower()]
            raw = name == "raw"
            if raw and "application/json" not in described.get("requestBody", {}).get("content", {}):
                continue

            @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))  # fmt: skip
            @given(case=operation.as_strategy(generation_mode=mode), body=RAW_BODIES)
            def check(case, body):
                request = case.as_transport_kwargs(base_url=base)
                if raw:  # whatever bytes, as JSON or as another type
                    request.pop("json", None)
                    request["data"], request["headers"]["Content-Type"] = body
                send(name, label, described, request)

            check()
    total = sum(counts.values())
    print(f"\n{total} generated requests over {len(counts)} operations in {time.monotonic() - started:.0f} s")
    print("\n".join(f"{n:5d} {key}" for key, n in sorted(statuses.items())))
    assert len(counts) == sum(len(item) for item in served["paths"].values())  # every operation was exercised
    assert total >= MIN_REQUESTS, json.dumps(counts, indent=1)
    assert snapshot(lab.site, lab.root) == before, "something beside the workspace changed"
    log = lab.log.read_text(errors="replace")
    assert "Traceback" not in log and "Uncaught exception" not in log, log[-5000:]


def test_the_site_snapshot_sees_a_write_through_the_link_and_not_one_inside(tmp_path):
    site = make_site(tmp_path)
    before = snapshot(site.site, site.root)
    (site.root / "inside.txt").write_text("a workspace file\n")
    assert snapshot(site.site, site.root) == before
    (site.root / "link-out" / "empty" / "escaped.txt").write_text("written through the link\n")
    assert snapshot(site.site, site.root) != before
    (site.root / "link-out" / "empty" / "escaped.txt").unlink()
    before = snapshot(site.site, site.root)
    (site.outside / "secret.txt").write_text("OUTSIDE THE WORKSPACE\n")  # same size: seen by its content
    assert snapshot(site.site, site.root) != before
