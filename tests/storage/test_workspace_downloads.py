"""Downloads into the workspace go through the confinement helper: the folder is opened once,
from the server root, without following links, when the job starts. A folder swapped for a
link out before the job starts is refused (it used to be written through); one swapped while
the bytes arrive cannot redirect the file (the download used to fail and leave its temporary
file); a link that stays inside the root still works as before."""

from __future__ import annotations

import io
import os

import pytest

from hybridhub.lab_ext.storage import transfers

pytestmark = pytest.mark.storage


@pytest.fixture
def stored(admin, bucket):
    data = os.urandom(1024 * 1024)
    admin.put_object(bucket, "d/data.bin", io.BytesIO(data), len(data))
    return bucket, data


def test_a_folder_swapped_for_a_link_mid_download_is_not_followed(service, stored, workspace, tmp_path, monkeypatch):
    bucket, data = stored
    outside = tmp_path / "outside"
    outside.mkdir()
    (workspace / "data").mkdir()
    original = transfers.open_object

    def swap_then_open(*args, **kwargs):
        os.rename(workspace / "data", workspace / "data-moved")
        (workspace / "data").symlink_to(outside, target_is_directory=True)
        return original(*args, **kwargs)

    monkeypatch.setattr(transfers, "open_object", swap_then_open)
    job = service.jobs.wait(service.start_download(bucket, "d/data.bin", "data/data.bin").id)
    assert job.state == "done", job.to_json()
    assert list(outside.iterdir()) == []
    assert (workspace / "data-moved" / "data.bin").read_bytes() == data
    assert sorted(p.name for p in (workspace / "data-moved").iterdir()) == ["data.bin"]


def test_a_folder_swapped_for_a_link_before_the_job_starts_is_refused(service, stored, workspace, tmp_path, monkeypatch):
    """Between the request's check and the job (queued behind others) the folder becomes a link out."""
    bucket, _ = stored
    outside = tmp_path / "outside"
    outside.mkdir()
    (workspace / "data").mkdir()
    original = service.jobs.submit

    def swap_then_submit(*args, **kwargs):
        os.rename(workspace / "data", workspace / "data-moved")
        (workspace / "data").symlink_to(outside, target_is_directory=True)
        return original(*args, **kwargs)

    monkeypatch.setattr(service.jobs, "submit", swap_then_submit)
    job = service.jobs.wait(service.start_download(bucket, "d/data.bin", "data/data.bin").id)
    assert (job.state, job.error.reason) == ("failed", "invalid_path")
    assert list(outside.iterdir()) == [] and list((workspace / "data-moved").iterdir()) == []


def test_a_link_that_stays_inside_the_root_still_works(service, stored, workspace):
    bucket, data = stored
    (workspace / "real").mkdir()
    (workspace / "alias").symlink_to(workspace / "real", target_is_directory=True)
    job = service.jobs.wait(service.start_download(bucket, "d/data.bin", "alias/data.bin").id)
    assert job.state == "done", job.to_json()
    assert (workspace / "real" / "data.bin").read_bytes() == data
