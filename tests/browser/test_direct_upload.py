"""A file uploaded from the computer goes straight from the browser to the object store.

The demo sets a browser endpoint (``c.HybridSpawner.storage_browser_endpoint``, the store on
127.0.0.1) and the store answers CORS for the demo's pages (hub_ext/hybridhub/hub_ext/demo/).
In headless Chromium, as alice in English and bob in Japanese, a file of several parts is
uploaded with the panel's upload button (file chooser); Playwright's request events show where
its bytes went: PUTs of presigned UploadPart URLs (``partNumber``, ``uploadId``) to the store's
host and port, one per part, whose bodies add up to the file, and no PUT to the user server's
``hybridhub/storage/upload`` (the streamed path the panel falls back to when the store cannot be
reached from the browser, e.g. without CORS). The object is then listed with the file's size, and
its bytes are the file's.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from minio import Minio

from hybridhub.hub_ext.demo.layout import DemoPorts
from tests.browser.test_user_flow import _open_bucket, catalog, lab  # noqa: F401 (fixtures: the demo as users log in)

pytestmark = [pytest.mark.browser, pytest.mark.storage]

SIZE = 14 * 1024 * 1024 + 123  # more than two parts of the smallest S3 part (5 MiB), the last one short
FINISHED = ".jp-hybridhub-storage-transfer.jp-mod-done, .jp-hybridhub-storage-transfer.jp-mod-failed"


def _store(lab) -> str:
    return f"127.0.0.1:{DemoPorts.from_base(lab.demo['base']).store.s3}"


def _json(lab, method: str, path: str) -> dict:
    answer = lab.api(method, path)
    assert answer["status"] == 200, answer
    return json.loads(answer["text"])


def _as_served(lab) -> None:
    """Load JupyterLab as the server sends it, without the ``lab`` fixture's rewrite of the page
    (exposeAppInBrowser, done by fulfilling the document from the test). Chromium gives a document
    the test fulfilled no loopback address space, so its Local Network Access checks refused that
    page's calls to 127.0.0.1 ("Permission was denied for this request to access the `loopback`
    address space"; its own event WebSocket too), and the panel fell back to the streamed upload;
    a person's page comes from 127.0.0.1 and calls 127.0.0.1 unchecked."""
    lab.page.context.unroute_all()
    lab.page.reload()
    lab.page.wait_for_selector(".jp-SideBar .lm-TabBar-tab[data-id='hybridhub-storage']", timeout=90_000)


def test_upload_from_the_computer_goes_straight_to_the_store(lab, tmp_path):
    page, bucket = lab.page, f"home-{lab.user}"
    _as_served(lab)
    assert _json(lab, "GET", "hybridhub/storage/config")["direct_uploads"] is True  # the demo's default

    upload = tmp_path / f"direct-{lab.lang}.bin"
    upload.write_bytes(os.urandom(SIZE))
    lab.open_panel_by_icon_timed("hybridhub-storage", "#hybridhub-storage .jp-hybridhub-storage-item")
    _open_bucket(lab, bucket)

    requests = []

    def seen(request):
        requests.append(request)

    page.on("request", seen)
    try:
        with page.expect_file_chooser() as chooser:
            # the panel's own upload button (the palette's command is test_user_flow.py's way)
            page.click(f"#hybridhub-storage button[aria-label='{lab.t('Upload files')}']")
        chooser.value.set_files(str(upload))
        finished = page.locator(FINISHED).filter(has_text=upload.name)
        finished.wait_for(timeout=120_000)
    finally:
        page.remove_listener("request", seen)
    row = finished.first
    assert "jp-mod-done" in row.get_attribute("class"), row.inner_text()
    lab.shot("storage-direct-upload-done")
    lab.assert_no_english()

    # the plan the server made (POST hybridhub/storage/direct-uploads)
    starts = [r for r in requests if r.method == "POST" and urlsplit(r.url).path.endswith("/hybridhub/storage/direct-uploads")]
    assert len(starts) == 1, [r.url for r in requests]
    plan = starts[0].response().json()
    assert plan["parts"] == math.ceil(SIZE / plan["part_size"]) >= 2, plan

    # the file's bytes went to the store, part by part, and never through the user server
    assert not [r.url for r in requests if r.method == "PUT" and "/hybridhub/storage/upload" in r.url]
    to_store = [r for r in requests if r.method == "PUT" and urlsplit(r.url).netloc == _store(lab)]
    taken = {}
    for put in to_store:
        query = parse_qs(urlsplit(put.url).query)
        assert set(query) >= {"partNumber", "uploadId", "X-Amz-Signature"}, put.url
        assert "X-Amz-Credential" in query and not re.search(r"secret", put.url, re.I)
        response = put.response()
        if response is not None and response.status == 200:
            # the body's length as sent (Playwright's sizes() counts 0 for a Blob body)
            taken[int(query["partNumber"][0])] = (query["uploadId"][0], int(put.header_value("content-length")))
    assert sorted(taken) == list(range(1, plan["parts"] + 1)), taken
    assert len({upload_id for upload_id, _ in taken.values()}) == 1  # one multipart upload
    assert sum(size for _, size in taken.values()) == SIZE
    completes = [r for r in requests if r.method == "POST" and urlsplit(r.url).path.endswith("/complete")]
    assert len(completes) == 1 and completes[0].response().status == 201

    # listed with the file's size, and the bytes are the file's
    stat = _json(lab, "GET", f"hybridhub/storage/stat?bucket={bucket}&key={upload.name}")
    assert stat["size"] == SIZE
    page.wait_for_selector(f"#hybridhub-storage .jp-hybridhub-storage-name:text-is('{upload.name}')")
    saved = json.loads((lab.demo["data_dir"] / "secrets.json").read_text())["store"]
    admin = Minio(_store(lab), saved["admin_access_key"], saved["admin_secret_key"], secure=False)
    stored = admin.get_object(bucket, upload.name)
    try:
        assert hashlib.sha256(stored.read()).hexdigest() == hashlib.sha256(upload.read_bytes()).hexdigest()
    finally:
        stored.close()
        stored.release_conn()
