"""Benchmark: object transfers through the hybridhub server extension vs the minio SDK directly.

One run starts an embedded S3 server (SeaweedFS) and a real jupyter-server with the extension,
both on loopback, and measures against the same bucket:

* a large upload and download through ``PUT/GET /hybridhub/storage/{upload,object}`` vs
  ``fput_object``/``get_object`` of the SDK (ratios = extension throughput / SDK throughput;
  the target is >= 0.9). The server is configured with a browser endpoint, as the reference
  deployment is, so ``download_ratio`` is a browser's download: the extension looks the
  object up and redirects, the store sends the bytes. ``download_proxied_ratio`` is the same
  download streamed through the server (``proxy=1``; what happens without a browser
  endpoint). Downloads on every side stream into the same in-memory sink (see ``Sink``);
  the bytes through the extension are checked against the source by SHA-256, untimed;
* the jupyter-server's peak RSS growth during those transfers (``rss_growth_mib``, target
  <= 64: the server never holds a whole object);
* many small objects uploaded one by one both ways (``small_upload_ratio``);
* the first page of a large prefix through ``GET /hybridhub/storage/list`` vs the SDK's own
  first page (``list_first_page_ratio`` = extension time / SDK time, target <= 1.2).

    .venv/bin/python benchmarks/storage.py            # 1 GiB object, 100,000-object prefix
    .venv/bin/python benchmarks/storage.py --quick    # 256 MiB, 2,000 objects: under a minute

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import itertools
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
from minio import Minio

from hybridhub.hub_ext.demo.objectstore import EmbeddedObjectStore, StoreCredentials, StorePorts
from hybridhub.hub_ext.demo.ports import LOOPBACK, free_ports, port_accepts

MiB = 1024 * 1024
BLOCK = MiB
DOWNLOADS_PER_ROUND = 3


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class RssSampler(threading.Thread):
    """Peak RSS of a process (and children), sampled every 20 ms."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.peak = 0
        self.stop_event = threading.Event()

    def rss(self) -> int:
        return self.proc.memory_info().rss

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.02)


class Server:
    """A jupyter-server subprocess with the hybridhub extension, configured by HYBRIDHUB_* env."""

    def __init__(self, workdir: Path, store: EmbeddedObjectStore):
        self.port = free_ports(1)[0]
        self.token = secrets.token_hex(16)
        self.root = workdir / "root"
        self.root.mkdir()
        config_dir = workdir / "config"
        config_dir.mkdir()
        (config_dir / "jupyter_server_config.json").write_text(
            json.dumps({"ServerApp": {"jpserver_extensions": {"hybridhub.lab_ext": True}}})
        )
        creds = store.credentials
        env = dict(
            os.environ,
            JUPYTER_CONFIG_DIR=str(config_dir),
            JUPYTER_RUNTIME_DIR=str(workdir / "runtime"),
            HYBRIDHUB_S3_ENDPOINT=store.endpoint,
            HYBRIDHUB_S3_ACCESS_KEY=creds.user_access_key,
            HYBRIDHUB_S3_SECRET_KEY=creds.user_secret_key,
            # browsers reach the store: downloads may be redirected there (proxy=1 opts out)
            HYBRIDHUB_S3_BROWSER_ENDPOINT=store.endpoint,
        )
        self.log = open(workdir / "server.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", f"--port={self.port}", f"--ip={LOOPBACK}", "--no-browser",
             f"--ServerApp.root_dir={self.root}", f"--IdentityProvider.token={self.token}", "--ServerApp.open_browser=False", "--allow-root"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not port_accepts(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.log.flush()
                tail = (workdir / "server.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"jupyter-server did not start:\n{tail}")
            time.sleep(0.2)

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(LOOPBACK, self.port, timeout=600, blocksize=BLOCK)

    def url(self, route: str, **params) -> str:
        return f"/hybridhub/storage/{route}?" + urllib.parse.urlencode(params)

    def headers(self) -> dict:
        return {"Authorization": f"token {self.token}"}

    def upload(self, bucket: str, key: str, path: Path) -> None:
        size = path.stat().st_size
        conn = self.connection()
        with open(path, "rb") as f:
            conn.request("PUT", self.url("upload", bucket=bucket, key=key, overwrite="1"), body=f,
                         headers={**self.headers(), "Content-Length": str(size)})
            response = conn.getresponse()
            body = response.read()
        conn.close()
        if response.status != 201:
            raise RuntimeError(f"upload failed: {response.status} {body[:200]!r}")

    def upload_bytes(self, conn, bucket: str, key: str, data: bytes) -> None:
        conn.request("PUT", self.url("upload", bucket=bucket, key=key, overwrite="1"), body=data, headers=self.headers())
        response = conn.getresponse()
        body = response.read()
        if response.status != 201:
            raise RuntimeError(f"upload failed: {response.status} {body[:200]!r}")

    def download(self, bucket: str, key: str, sink: "Sink") -> None:
        """Streamed through the server (``proxy=1``)."""
        conn = self.connection()
        conn.request("GET", self.url("object", bucket=bucket, key=key, proxy=1), headers=self.headers())
        drain(conn, conn.getresponse(), sink)

    def download_direct(self, bucket: str, key: str, sink: "Sink") -> None:
        """As a browser does with a browser endpoint: the server redirects, the store sends."""
        conn = self.connection()
        conn.request("GET", self.url("object", bucket=bucket, key=key), headers=self.headers())
        response = conn.getresponse()
        response.read()
        conn.close()
        if response.status != 307:
            raise RuntimeError(f"expected a redirect, got {response.status}")
        link = urllib.parse.urlsplit(response.getheader("Location"))
        store = http.client.HTTPConnection(link.hostname, link.port, timeout=600, blocksize=BLOCK)
        store.request("GET", f"{link.path}?{link.query}")  # no Authorization: browsers drop it on redirects
        drain(store, store.getresponse(), sink)

    def list_first_page(self, conn, bucket: str, prefix: str, limit: int) -> int:
        conn.request("GET", self.url("list", bucket=bucket, prefix=prefix, limit=limit), headers=self.headers())
        response = conn.getresponse()
        page = json.loads(response.read())
        return len(page["entries"])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


class Sink:
    """Where downloaded bytes go: counted and, when asked, hashed; never written to disk.

    Both sides of the download comparison write here, so the figure is the transfer itself:
    writing 1 GiB to the page cache on this machine triggers dirty-page throttling that
    penalises whichever download happens to run second by up to 2x.
    """

    def __init__(self, digest: bool = False):
        self.size = 0
        self.hash = hashlib.sha256() if digest else None

    def write(self, data) -> None:
        self.size += len(data)
        if self.hash is not None:
            self.hash.update(data)


def drain(conn: http.client.HTTPConnection, response: http.client.HTTPResponse, sink: Sink) -> None:
    if response.status != 200:
        raise RuntimeError(f"download failed: {response.status} {response.read()[:200]!r}")
    buffer = memoryview(bytearray(BLOCK))
    while n := response.readinto(buffer):
        sink.write(buffer[:n])
    conn.close()


def sdk_download(client: Minio, bucket: str, key: str, sink: Sink) -> None:
    response = client.get_object(bucket, key)
    try:
        for chunk in response.stream(BLOCK):
            sink.write(chunk)
    finally:
        response.close()
        response.release_conn()


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def make_file(path: Path, size: int) -> None:
    block = os.urandom(BLOCK)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            f.write(block[: min(BLOCK, left)])
            left -= BLOCK


def seed_prefix(admin: Minio, bucket: str, prefix: str, count: int) -> None:
    def put(i: int) -> None:
        admin.put_object(bucket, f"{prefix}{i:07d}.txt", io.BytesIO(b"x"), 1)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(count)))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="256 MiB object, 2,000-object prefix (< 1 minute)")
    parser.add_argument("--size-mib", type=int, help="size of the large object")
    parser.add_argument("--objects", type=int, help="objects in the listed prefix")
    args = parser.parse_args(argv)
    size = (args.size_mib or (256 if args.quick else 1024)) * MiB
    n_list = args.objects or (2_000 if args.quick else 100_000)
    n_small, small_size, repeats = (100, 16 * 1024, 7) if args.quick else (500, 16 * 1024, 15)
    rounds = 4 if args.quick else 3

    with tempfile.TemporaryDirectory(prefix="hybridhub-bench-") as tmp:
        work = Path(tmp)
        creds = StoreCredentials("admin" + secrets.token_hex(4), secrets.token_urlsafe(16),
                                 "user" + secrets.token_hex(4), secrets.token_urlsafe(16))
        store = EmbeddedObjectStore(work / "store", StorePorts.free(), creds)
        store.start()
        server = None
        try:
            host = store.endpoint.removeprefix("http://")
            admin = Minio(host, creds.admin_access_key, creds.admin_secret_key, secure=False)
            sdk = Minio(host, creds.user_access_key, creds.user_secret_key, secure=False, region="us-east-1")
            bucket = "bench-" + secrets.token_hex(4)
            admin.make_bucket(bucket)
            server = Server(work, store)
            big = work / "big.bin"
            make_file(big, size)
            log(f"large object: {size // MiB} MiB")

            # warm up: the server finishes loading in the background for a moment after it listens
            warm = work / "warm.bin"
            make_file(warm, MiB)
            server.upload(bucket, "warm.bin", warm)
            server.download(bucket, "warm.bin", Sink())
            time.sleep(2)

            sampler = RssSampler(server.process.pid)
            baseline = sampler.rss()
            sampler.start()
            def download_step(fetch):
                def step():
                    sink = Sink()
                    fetch(bucket, "ext/big.bin", sink)
                    assert sink.size == size, (sink.size, size)
                return step

            uploads = {
                "ext_up": lambda: server.upload(bucket, "ext/big.bin", big),
                "sdk_up": lambda: sdk.fput_object(bucket, "sdk/big.bin", str(big)),
            }
            downloads = {
                "ext_direct": download_step(server.download_direct),
                "ext_proxied": download_step(server.download),
                "sdk_down": download_step(lambda b, k, sink: sdk_download(sdk, b, k, sink)),
            }
            times: dict[str, list[float]] = {name: [] for name in [*uploads, *downloads]}
            # interleaved, order rotating, best of each (the machine is shared); every download
            # reads the same object so the store's caches favour none
            for i in range(rounds):
                up_order = list(uploads)[::-1] if i % 2 else list(uploads)
                down_order = list(downloads)[i % 3:] + list(downloads)[:i % 3]
                for name in up_order:
                    times[name].append(timed(uploads[name]))
                for _ in range(DOWNLOADS_PER_ROUND):  # a download takes a fraction of an upload's time
                    for name in down_order:
                        times[name].append(timed(downloads[name]))
                    down_order = down_order[1:] + down_order[:1]
            sampler.stop_event.set()
            sampler.join()
            rss_growth = (sampler.peak - baseline) / MiB
            # untimed: the bytes that came through the extension are the bytes that went in
            expected = Sink(digest=True)
            with open(big, "rb") as f:
                while block := f.read(BLOCK):
                    expected.write(block)
            for fetch in (server.download, server.download_direct):
                got = Sink(digest=True)
                fetch(bucket, "ext/big.bin", got)
                assert got.hash.digest() == expected.hash.digest(), f"{fetch.__name__}: the bytes differ"
            best = {name: min(values) for name, values in times.items()}
            median = {name: statistics.median(values) for name, values in times.items()}
            log("upload: extension {ext_up:.2f} s, SDK {sdk_up:.2f} s; download: redirected {ext_direct:.2f} s, "
                "proxied {ext_proxied:.2f} s, SDK {sdk_down:.2f} s".format(**best))

            small = os.urandom(small_size)
            conn = server.connection()
            start = time.perf_counter()
            for i in range(n_small):
                server.upload_bytes(conn, bucket, f"small-ext/{i:05d}.bin", small)
            t_ext_small = time.perf_counter() - start
            conn.close()
            start = time.perf_counter()
            for i in range(n_small):
                sdk.put_object(bucket, f"small-sdk/{i:05d}.bin", io.BytesIO(small), small_size)
            t_sdk_small = time.perf_counter() - start
            log(f"{n_small} small objects: extension {t_ext_small:.2f} s, SDK {t_sdk_small:.2f} s")

            log(f"seeding {n_list} objects for the listing")
            seed_prefix(admin, bucket, "many/", n_list)
            conn = server.connection()
            ext_times, sdk_times = [], []
            for _ in range(repeats):
                start = time.perf_counter()
                got_ext = server.list_first_page(conn, bucket, "many/", 1000)
                ext_times.append(time.perf_counter() - start)
                start = time.perf_counter()
                got_sdk = len(list(itertools.islice(sdk.list_objects(bucket, prefix="many/"), 1000)))
                sdk_times.append(time.perf_counter() - start)
            conn.close()
            assert got_ext == got_sdk == min(1000, n_list), (got_ext, got_sdk)
            t_ext_list, t_sdk_list = statistics.median(ext_times), statistics.median(sdk_times)
            log(f"first page of {n_list}: extension {t_ext_list * 1000:.1f} ms, SDK {t_sdk_list * 1000:.1f} ms")
        finally:
            if server:
                server.stop()
            store.stop()

    result = {
        "benchmark": "storage",
        "quick": bool(args.quick),
        "object_mib": size // MiB,
        "rounds": rounds,
        "upload_ext_mib_s": round(size / MiB / best["ext_up"], 1),
        "upload_sdk_mib_s": round(size / MiB / best["sdk_up"], 1),
        "download_ext_mib_s": round(size / MiB / best["ext_direct"], 1),
        "download_proxied_mib_s": round(size / MiB / best["ext_proxied"], 1),
        "download_sdk_mib_s": round(size / MiB / best["sdk_down"], 1),
        "upload_ratio": round(best["sdk_up"] / best["ext_up"], 3),
        "download_ratio": round(best["sdk_down"] / best["ext_direct"], 3),
        "download_proxied_ratio": round(best["sdk_down"] / best["ext_proxied"], 3),
        "download_median_ratio": round(median["sdk_down"] / median["ext_direct"], 3),
        "download_proxied_median_ratio": round(median["sdk_down"] / median["ext_proxied"], 3),
        "downloads_timed": len(times["sdk_down"]),
        "rss_growth_mib": round(rss_growth, 1),
        "small_objects": n_small,
        "small_upload_ratio": round(t_sdk_small / t_ext_small, 3),
        "list_objects": n_list,
        "list_first_page_ext_ms": round(t_ext_list * 1000, 1),
        "list_first_page_sdk_ms": round(t_sdk_list * 1000, 1),
        "list_first_page_ratio": round(t_ext_list / t_sdk_list, 3),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
