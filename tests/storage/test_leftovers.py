"""The transfer journal and its sweep (storage/leftovers.py), against the real store.

A dead server is played by a journal whose lock is let go without removing its files: what the
kernel does when a process is killed (its ``flock`` goes with it, the files stay).
"""

from __future__ import annotations

import io
import json
import os
from datetime import timedelta

import pytest

from hybridhub.lab_ext.storage import leftovers
from hybridhub.lab_ext.storage.client import make_client
from hybridhub.lab_ext.storage.errors import StorageError
from tests.storage.conftest import storage_config

pytestmark = pytest.mark.storage


def uploads_of(admin, bucket: str) -> list[str]:
    return sorted(u.object_name for u in admin._list_multipart_uploads(bucket, max_uploads=1000).uploads)


def start_multipart(client, bucket: str, key: str) -> str:
    """What put_object does first for a large object: the parts a crash would leave behind."""
    upload_id = client._create_multipart_upload(bucket, key, {})
    client._upload_part(bucket, key, b"x" * 1024, {}, upload_id, 1)
    return upload_id


def die(journal: leftovers.Journal) -> None:
    """The kernel's part of a SIGKILL: the lock is gone, the journal file stays."""
    os.close(journal._lock_fd)
    journal._lock_fd = None


@pytest.fixture
def owner(object_store):
    config = storage_config(object_store)
    return leftovers.owner_of(config.endpoint, config.access_key)


@pytest.fixture
def client(object_store):
    return make_client(storage_config(object_store))


def sweeper(workspace, client, owner, instance=None) -> leftovers.Sweeper:
    return leftovers.Sweeper(leftovers.Journal(workspace, instance), lambda: client, owner)


def test_a_dead_servers_uploads_and_temp_files_are_swept_and_nothing_else(workspace, bucket, admin, client, owner):
    (workspace / "data").mkdir()
    (workspace / "data" / "model.bin").write_bytes(b"old")
    gone = leftovers.Journal(workspace)  # records written as the real transfers write them, then killed
    download = leftovers.Download(["data"], ".model.bin.0f0f0f0f.")
    gone.add(download)
    gone.add(leftovers.Upload(bucket, "big.bin", owner, leftovers._now().isoformat()))
    temp = workspace / "data" / f"{download.prefix}1a2b3c4d{leftovers.TEMP_SUFFIX}"
    temp.write_bytes(b"partial")
    other_temp = workspace / "data" / f".model.bin.99999999{leftovers.TEMP_SUFFIX}"  # another download's
    other_temp.write_bytes(b"theirs")
    start_multipart(client, bucket, "big.bin")
    start_multipart(client, bucket, "big.bin.other")  # same prefix, another key
    die(gone)
    text = (workspace / ".hybridhub" / "transfers" / f"{gone.instance}.json").read_text()
    assert [d["prefix"] for d in json.loads(text)["downloads"]] == [download.prefix]
    assert client._provider.retrieve().access_key not in text and client._provider.retrieve().secret_key not in text

    assert uploads_of(admin, bucket) == ["big.bin", "big.bin.other"]
    counts = sweeper(workspace, client, owner).sweep()

    assert counts == {"aborted": 1, "removed": 1, "pending": 0}
    assert uploads_of(admin, bucket) == ["big.bin.other"]
    assert sorted(p.name for p in (workspace / "data").iterdir()) == [other_temp.name, "model.bin"]
    assert (workspace / "data" / "model.bin").read_bytes() == b"old"
    assert not (workspace / ".hybridhub").exists()  # the dead journal is gone, and the folders with it


def test_a_live_servers_journal_is_left_alone(workspace, bucket, admin, client, owner):
    live = sweeper(workspace, client, owner)
    with live.uploading(bucket, "running.bin"):
        start_multipart(client, bucket, "running.bin")
        with live.downloading([], "file.txt") as prefix:
            (workspace / f"{prefix}00000000{leftovers.TEMP_SUFFIX}").write_bytes(b"in progress")
            assert sweeper(workspace, client, owner).sweep() == {"aborted": 0, "removed": 0, "pending": 0}
            assert uploads_of(admin, bucket) == ["running.bin"]
            assert (workspace / f"{prefix}00000000{leftovers.TEMP_SUFFIX}").exists()


def test_another_identitys_dead_uploads_are_not_touched(workspace, bucket, admin, client, owner):
    gone = leftovers.Journal(workspace)
    gone.add(leftovers.Upload(bucket, "theirs.bin", "someone-else", leftovers._now().isoformat()))
    start_multipart(client, bucket, "theirs.bin")
    die(gone)
    assert sweeper(workspace, client, owner).sweep()["aborted"] == 0
    assert uploads_of(admin, bucket) == ["theirs.bin"]


def test_a_failed_upload_outside_its_window_is_not_aborted(workspace, bucket, admin, client, owner):
    """Initiated after the failure plus the skew: another upload of the key, not the failed one."""
    own = sweeper(workspace, client, owner)
    record = leftovers.Upload(bucket, "k.bin", owner, (leftovers._now() - timedelta(hours=2)).isoformat())
    own.journal.add(record)
    own.journal.failed(record)
    record.until = (leftovers._now() - timedelta(hours=1)).isoformat()
    start_multipart(client, bucket, "k.bin")
    assert own.sweep() == {"aborted": 0, "removed": 0, "pending": 0}
    assert uploads_of(admin, bucket) == ["k.bin"] and own.journal.pending() == []


def test_an_unreachable_store_keeps_the_record_until_a_later_sweep(object_store, workspace, bucket, admin, client, owner):
    unreachable = make_client(storage_config(object_store, endpoint="http://127.0.0.1:9"))
    current = [unreachable]
    own = leftovers.Sweeper(leftovers.Journal(workspace), lambda: current[0], owner)
    with pytest.raises(StorageError):
        with own.uploading(bucket, "never-retried.bin"):
            start_multipart(client, bucket, "never-retried.bin")
            raise StorageError("storage_unreachable")
    assert own.sweep()["pending"] == 1
    assert uploads_of(admin, bucket) == ["never-retried.bin"]
    assert (workspace / ".hybridhub" / "transfers" / f"{own.journal.instance}.json").exists()
    current[0] = client  # the store is back
    assert own.sweep() == {"aborted": 1, "removed": 0, "pending": 0}
    assert uploads_of(admin, bucket) == [] and not (workspace / ".hybridhub").exists()


def test_a_retry_first_ends_what_the_failed_attempt_left(workspace, bucket, admin, client, owner):
    own = sweeper(workspace, client, owner)
    with pytest.raises(StorageError):
        with own.uploading(bucket, "again.bin"):
            start_multipart(client, bucket, "again.bin")
            raise StorageError("storage_unreachable")
    with own.uploading(bucket, "again.bin"):
        assert uploads_of(admin, bucket) == []  # swept before the retry began
        start_multipart(client, bucket, "again.bin")
        assert own.sweep()["aborted"] == 0  # the running retry is never touched
    assert uploads_of(admin, bucket) == ["again.bin"]


def test_a_linked_journal_folder_is_refused_and_the_transfer_goes_on(workspace, tmp_path, client, owner, bucket):
    outside = tmp_path / "outside"
    outside.mkdir()
    (workspace / ".hybridhub").symlink_to(outside, target_is_directory=True)
    own = sweeper(workspace, client, owner)
    with own.uploading(bucket, "x.bin"):
        client.put_object(bucket, "x.bin", io.BytesIO(b"x"), 1)
    assert list(outside.iterdir()) == []


def test_a_dead_servers_key_that_a_live_server_uploads_now_waits(workspace, bucket, admin, client, owner):
    """Two servers share the workspace: the dead one's upload of a key is not aborted while the
    live one uploads the same key (its upload would be inside the window)."""
    gone = leftovers.Journal(workspace)
    gone.add(leftovers.Upload(bucket, "shared.bin", owner, leftovers._now().isoformat()))
    die(gone)
    live = sweeper(workspace, client, owner)
    with live.uploading(bucket, "shared.bin"):
        start_multipart(client, bucket, "shared.bin")
        assert sweeper(workspace, client, owner).sweep() == {"aborted": 0, "removed": 0, "pending": 1}
        assert uploads_of(admin, bucket) == ["shared.bin"]


@pytest.mark.parametrize(
    "text",
    ["{", "[]", '{"uploads": 5}', '{"downloads": [{"folder": 7, "prefix": "x"}]}', '{"downloads": [{"folder": ["..", "etc"], "prefix": ""}]}',
     '{"uploads": [{"bucket": "b", "key": "k", "owner": "o", "since": "yesterday"}]}', "[" * 5000 + "]" * 5000],
)  # fmt: skip
def test_a_malformed_dead_journal_is_removed_and_nothing_else(workspace, client, owner, text):
    (workspace / "keep.hybridhub-part").write_bytes(b"not ours")
    folder = workspace / ".hybridhub" / "transfers"
    folder.mkdir(parents=True)
    (folder / "0123456789abcdef.json").write_text(text)
    assert sweeper(workspace, client, owner).sweep() == {"aborted": 0, "removed": 0, "pending": 0}
    assert sorted(p.name for p in workspace.iterdir()) == ["keep.hybridhub-part"]


def test_only_multipart_uploads_are_journaled(service, bucket, monkeypatch):
    # a single PUT that fails leaves no object and no parts (S3 PutObject is all or nothing),
    # so a one-part upload needs no record; a multipart one does, for as long as it runs
    added = []
    real_add = service.leftovers.journal.add
    monkeypatch.setattr(service.leftovers.journal, "add", lambda record: (added.append(record), real_add(record)))
    small = b"a" * 1024
    service.upload_reader(bucket, "small.bin", io.BytesIO(small), len(small))
    assert added == []
    large = os.urandom(7 * 1024 * 1024)
    service.upload_reader(bucket, "large.bin", io.BytesIO(large), len(large))
    assert [(r.bucket, r.key) for r in added] == [(bucket, "large.bin")]
    assert service.leftovers.journal.uploads == {}  # ended: the record is gone
