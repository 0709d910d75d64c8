"""The demo's storage panel works: the sample bucket is browsable, upload and download round-trip in the user's own bucket."""

from __future__ import annotations

import pytest

from tests.hubclient import open_lab

from .test_demo import demo  # noqa: F401 (fixture)

pytestmark = [pytest.mark.demo, pytest.mark.storage]


def test_sample_bucket_browse_upload_download(demo):  # noqa: F811
    hub, api, xsrf = open_lab(demo["url"], "bob", demo["user_password"], "storage")

    assert {"datasets", "home-bob"} <= {b["name"] for b in hub.session.get(api + "buckets", timeout=30).json()["buckets"]}
    page = hub.session.get(api + "list", params={"bucket": "datasets", "prefix": "sensors/"}, timeout=30).json()
    names = str(page)
    assert "sensors/train.csv" in names and "sensors/test.csv" in names

    body = b"id,value\n1,42\n"
    put = hub.session.put(api + "upload", params={"bucket": "home-bob", "key": "uploads/bob.csv"}, data=body,
                          headers={"X-XSRFToken": xsrf, "Content-Type": "text/csv"}, timeout=60)
    assert put.status_code in (200, 201), put.text
    got = hub.session.get(api + "object", params={"bucket": "home-bob", "key": "uploads/bob.csv"}, timeout=60)
    assert got.status_code == 200 and got.content == body
    preview = hub.session.get(api + "preview", params={"bucket": "datasets", "key": "sensors/train.csv"}, timeout=30)
    assert preview.status_code == 200 and "temperature_c" in preview.text
