"""The template's training-data cache (ml/s3cache.py through ml/s3io.py, issue 22) against the real
SeaweedFS store of the session, reached through tests/faults/proxy.py's TCP proxy so the test counts
every request that reaches the store (urllib opens one connection per request) and can kill it."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.faults.conftest import store_proxy  # noqa: F401 (fixture)
from tests.monitoring.test_monitor_job import ML, template_module

from .conftest import new_bucket

pytestmark = [pytest.mark.storage, pytest.mark.pipelines]

s3io, s3cache = template_module("s3io"), template_module("s3cache")


@pytest.fixture
def proxy(store_proxy):  # noqa: F811
    """The session's SeaweedFS behind tests/faults/proxy.py: ``connections`` counts the requests."""
    return store_proxy


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "s3io-cache"


@pytest.fixture
def job_env(object_store, proxy, cache_dir, monkeypatch):
    """What a cloud training job gets: the store (through the proxy), the keys, the cache folder."""
    c = object_store.credentials
    env = {"S3_ENDPOINT": proxy.endpoint, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": c.admin_access_key,
           "AWS_SECRET_ACCESS_KEY": c.admin_secret_key, "S3IO_CACHE_DIR": str(cache_dir)}  # fmt: skip
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("S3IO_CACHE_MAX_BYTES", raising=False)
    return env


def put(admin, bucket: str, key: str, data: bytes) -> str:
    import io

    return admin.put_object(bucket, key, io.BytesIO(data), len(data)).version_id or ""


def entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.endswith(".obj") and not p.name.startswith(".tmp-"))


def test_a_pinned_version_is_downloaded_once_then_served_after_the_stores_yes(admin, proxy, job_env, cache_dir, capsys):
    bucket = new_bucket(admin, versioned=True)
    first = os.urandom(300_000)
    v1 = put(admin, bucket, "train.csv", first)
    put(admin, bucket, "train.csv", os.urandom(300_000))  # a newer version: the pin must win
    uri = f"s3://{bucket}/train.csv"

    data, record = s3io.read_object(uri, v1)
    assert data == first and record["version_id"] == v1 and proxy.connections == 2  # HEAD + GET
    assert "cache miss" in capsys.readouterr().err

    again, record2 = s3io.read_object(uri, v1)
    assert again == first and record2 == record
    assert proxy.connections == 3, "a hit asks the store only whether this job may read it (HEAD, no body)"
    log = capsys.readouterr().err.splitlines()
    assert len(log) == 1 and log[0].startswith(f"s3io cache hit {uri} version {v1}: 300000 bytes not downloaded; this job: ")
    assert job_env["AWS_SECRET_ACCESS_KEY"] not in "".join(log) and job_env["AWS_ACCESS_KEY_ID"] not in "".join(log)
    assert len(entries(cache_dir)) == 1


def test_the_store_not_the_cache_decides_who_may_read(admin, proxy, job_env, cache_dir, monkeypatch, capsys):
    """The runner's jobs share the folder: a job whose keys the store refuses gets nothing from it,
    and with the store gone nothing is served unasked."""
    bucket = new_bucket(admin, versioned=True)
    secret = os.urandom(100_000)
    v1 = put(admin, bucket, "labels.csv", secret)
    uri = f"s3://{bucket}/labels.csv"
    assert s3io.read_bytes(uri, v1) == secret and len(entries(cache_dir)) == 1
    capsys.readouterr()
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-" + job_env["AWS_SECRET_ACCESS_KEY"])  # SigV4: refused
    with pytest.raises(SystemExit) as refused:
        s3io.read_bytes(uri, v1)
    assert "403" in str(refused.value), refused.value
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", job_env["AWS_SECRET_ACCESS_KEY"])
    proxy.kill()
    with pytest.raises(SystemExit):
        s3io.read_bytes(uri, v1)
    assert "cache hit" not in capsys.readouterr().err and len(entries(cache_dir)) == 1


def test_an_entry_whose_bytes_are_not_its_etags_md5_is_not_served(admin, proxy, job_env, cache_dir, capsys):
    """Another job wrote an entry with a consistent header (size, sha256) but other bytes."""
    bucket = new_bucket(admin, versioned=True)
    data = os.urandom(50_000)
    v1 = put(admin, bucket, "x.csv", data)
    uri = f"s3://{bucket}/x.csv"
    s3io.read_bytes(uri, v1)
    (entry,) = entries(cache_dir)
    cache = s3cache.Cache(cache_dir)
    magic, line, _ = entry.read_bytes().split(b"\n", 2)
    header = cache._header(magic + b"\n", line + b"\n")
    planted = os.urandom(50_000)
    assert cache.put(entry.name, planted, {k: header[k] for k in ("uri", "version_id", "etag")}) == "kept"
    capsys.readouterr()
    assert s3io.read_bytes(uri, v1) == data
    log = capsys.readouterr().err
    assert "is not the object its ETag names: deleted, not served" in log and "cache miss" in log


@pytest.mark.parametrize("versioned", [False, True])
def test_an_unpinned_read_checks_the_etag_and_a_changed_object_is_a_miss(admin, proxy, job_env, cache_dir, versioned, capsys):
    bucket = new_bucket(admin, versioned=versioned)
    uri = f"s3://{bucket}/data.csv"
    old, new = b"a,b\n" + os.urandom(50_000), b"a,b\n" + os.urandom(50_000)  # same size: only the ETag tells
    put(admin, bucket, "data.csv", old)
    assert s3io.read_bytes(uri) == old and proxy.connections == 2  # HEAD + GET
    assert s3io.read_bytes(uri) == old and proxy.connections == 3  # HEAD only: a hit
    put(admin, bucket, "data.csv", new)
    data, record = s3io.read_object(uri)
    assert data == new, "a changed object under the same key is never a stale hit"
    assert record["etag"] == hashlib.md5(new).hexdigest() and proxy.connections == 5
    assert s3io.read_bytes(uri) == new and proxy.connections == 6
    outcomes = [line.split(" ")[2] for line in capsys.readouterr().err.splitlines()]
    assert outcomes == ["miss", "hit", "miss", "hit"]


def test_least_recently_used_entries_are_evicted_under_the_bound(admin, job_env, cache_dir, monkeypatch, capsys):
    bucket = new_bucket(admin, versioned=True)
    size = 100_000
    versions = {name: put(admin, bucket, name, os.urandom(size)) for name in ("a", "b", "c")}
    monkeypatch.setenv("S3IO_CACHE_MAX_BYTES", str(int(2.5 * size)))  # two entries fit, not three
    read = lambda name: s3io.read_bytes(f"s3://{bucket}/{name}", versions[name])  # noqa: E731
    read("a"), read("b"), read("a")  # a is now more recently used than b
    read("c")  # room for c: b goes
    assert sum(p.stat().st_size for p in entries(cache_dir)) <= 2.5 * size and len(entries(cache_dir)) == 2
    capsys.readouterr()
    read("a"), read("c"), read("b")
    assert [line.split(" ")[2] for line in capsys.readouterr().err.splitlines()] == ["hit", "hit", "miss"]


def test_an_object_larger_than_the_bound_is_read_and_not_kept(admin, job_env, cache_dir, monkeypatch, capsys):
    bucket = new_bucket(admin)
    data = os.urandom(64_000)
    put(admin, bucket, "big", data)
    monkeypatch.setenv("S3IO_CACHE_MAX_BYTES", "10000")
    assert s3io.read_bytes(f"s3://{bucket}/big") == data
    assert entries(cache_dir) == []
    assert "not kept: larger than S3IO_CACHE_MAX_BYTES=10000" in capsys.readouterr().err


def test_a_full_volume_evicts_then_never_fails_the_read(admin, job_env, cache_dir, monkeypatch, capsys):
    bucket = new_bucket(admin, versioned=True)
    old = put(admin, bucket, "old", os.urandom(20_000))
    s3io.read_bytes(f"s3://{bucket}/old", old)
    assert len(entries(cache_dir)) == 1
    data = os.urandom(30_000)
    version = put(admin, bucket, "new", data)
    new_name = s3cache.Cache.name(job_env["S3_ENDPOINT"], bucket, "new", version=version)
    real, calls = s3cache._write_all, []

    def full_once(fd, chunk):  # the volume is full until something is deleted
        calls.append(len(chunk))
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd, chunk)

    monkeypatch.setattr(s3cache, "_write_all", full_once)
    assert s3io.read_bytes(f"s3://{bucket}/new", version) == data
    assert len(calls) > 1 and [p.name for p in entries(cache_dir)] == [new_name], "the old entry evicted, the new one kept"
    assert s3cache.Cache(cache_dir).get(new_name)[0] == data
    assert "cache volume full (ENOSPC): evicting" in capsys.readouterr().err

    def always_full(fd, chunk):
        raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))

    monkeypatch.setattr(s3cache, "_write_all", always_full)
    other = put(admin, bucket, "other", os.urandom(10_000))
    assert len(s3io.read_bytes(f"s3://{bucket}/other", other)) == 10_000, "the read goes on without the cache"
    assert [p.name for p in cache_dir.iterdir()] == [], "no partial or temporary file is left"
    assert "bytes downloaded, not kept: " in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "header"])
def test_a_damaged_entry_is_never_served(admin, proxy, job_env, cache_dir, damage, capsys):
    bucket = new_bucket(admin, versioned=True)
    data = os.urandom(40_000)
    version = put(admin, bucket, "x", data)
    s3io.read_bytes(f"s3://{bucket}/x", version)
    (entry,) = entries(cache_dir)
    raw = bytearray(entry.read_bytes())
    if damage == "flipped byte":
        raw[-100] ^= 0xFF
    elif damage == "truncated":
        del raw[-1000:]
    else:
        raw[:5] = b"junk!"
    entry.write_bytes(bytes(raw))
    capsys.readouterr()
    assert s3io.read_bytes(f"s3://{bucket}/x", version) == data and proxy.connections == 4  # each: HEAD + GET
    err = capsys.readouterr().err
    assert "is damaged: deleted, not served" in err and "cache miss" in err
    assert len(entries(cache_dir)) == 1 and s3cache.Cache(cache_dir).get(entry.name)[0] == data  # re-kept, whole


def test_temporary_files_are_never_served_and_stale_ones_are_swept(admin, job_env, cache_dir):
    bucket = new_bucket(admin, versioned=True)
    data = os.urandom(5_000)
    version = put(admin, bucket, "t", data)
    cache = s3cache.Cache(cache_dir)
    cache_dir.mkdir()
    name = cache.name(job_env["S3_ENDPOINT"], bucket, "t", version=version)
    stale, fresh = cache_dir / f".tmp-{name}.1.1", cache_dir / f".tmp-{name}.2.2"  # a crashed writer's and a live one's
    for tmp in (stale, fresh):
        tmp.write_bytes(b"partial")
    os.utime(stale, (time.time() - 2 * s3cache.STALE_TMP_SECONDS,) * 2)
    assert cache.get(name) is None
    assert s3io.read_bytes(f"s3://{bucket}/t", version) == data
    assert not stale.exists() and fresh.exists(), "only a writer's leftover older than the limit is swept"
    assert (cache_dir / name).is_file()


def test_downloaded_bytes_are_verified_before_they_are_kept():
    data = b"0123456789"
    md5 = hashlib.md5(data).hexdigest()
    assert s3cache.Cache.verified(data, md5, 10) == ""
    assert s3cache.Cache.verified(data, f"{md5}-3", 10) == ""  # multipart: no MD5 of the whole to check
    assert s3cache.Cache.verified(data, md5, 12) == "10 bytes read of 12"
    assert s3cache.Cache.verified(b"0123456780", md5, 10) == "the bytes are not the MD5 their ETag says"


def test_concurrent_jobs_reading_the_same_version_all_succeed(admin, proxy, job_env, cache_dir, monkeypatch):
    bucket = new_bucket(admin, versioned=True)
    data = os.urandom(2_000_000)
    version = put(admin, bucket, "shared", data)
    digest = hashlib.sha256(data).hexdigest()
    code = "import sys, hashlib, s3io; print(hashlib.sha256(s3io.read_bytes(sys.argv[1], sys.argv[2])).hexdigest())"
    env = {**{k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}, **job_env, "PYTHONPATH": str(ML)}
    jobs = [subprocess.Popen([sys.executable, "-c", code, f"s3://{bucket}/shared", version], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]  # fmt: skip
    results = [job.communicate(timeout=120) for job in jobs]
    assert [job.returncode for job in jobs] == [0] * 4, results
    assert [out.strip() for out, _ in results] == [digest] * 4
    assert [p.name for p in cache_dir.iterdir() if p.name.startswith(".tmp-")] == []
    assert len(entries(cache_dir)) == 1
    before = proxy.connections
    assert s3io.read_bytes(f"s3://{bucket}/shared", version) == data and proxy.connections == before + 1  # the HEAD

    # threads of one process (one pid) into a cold cache: the same
    threaded = cache_dir.parent / "threaded"
    monkeypatch.setenv("S3IO_CACHE_DIR", str(threaded))
    with ThreadPoolExecutor(4) as pool:
        reads = list(pool.map(lambda _: s3io.read_bytes(f"s3://{bucket}/shared", version), range(4)))
    assert reads == [data] * 4 and len(entries(threaded)) == 1
    assert [p.name for p in threaded.iterdir() if p.name.startswith(".tmp-")] == []


def test_a_cache_folder_that_cannot_be_made_or_a_bad_bound_turns_the_cache_off(admin, job_env, tmp_path, monkeypatch, capsys):
    bucket = new_bucket(admin)
    put(admin, bucket, "k", b"hello")
    (tmp_path / "a-file").write_bytes(b"")
    monkeypatch.setenv("S3IO_CACHE_DIR", str(tmp_path / "a-file" / "cache"))
    assert s3io.read_bytes(f"s3://{bucket}/k") == b"hello"
    assert "cache off: cannot make" in capsys.readouterr().err
    monkeypatch.setenv("S3IO_CACHE_DIR", str(tmp_path / "ok"))
    monkeypatch.setenv("S3IO_CACHE_MAX_BYTES", "20GiB")
    assert s3io.read_bytes(f"s3://{bucket}/k") == b"hello"
    assert "cache off: S3IO_CACHE_MAX_BYTES='20GiB' is not a number of bytes" in capsys.readouterr().err
    assert not (tmp_path / "ok").exists()


def test_without_the_setting_nothing_is_cached(admin, proxy, job_env, cache_dir, monkeypatch, capsys):
    monkeypatch.delenv("S3IO_CACHE_DIR")
    bucket = new_bucket(admin)
    put(admin, bucket, "k", b"hello")
    assert s3io.read_bytes(f"s3://{bucket}/k") == b"hello" and proxy.connections == 1  # a GET, no HEAD
    assert not cache_dir.exists() and "cache" not in capsys.readouterr().err
