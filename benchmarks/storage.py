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

Then the same store over an office link (issue 22), with a second jupyter-server. The topology is
the reference layout: the people and the store are in the office, the user servers and training
jobs in the cloud. Two links of our own (benchmarks/throttled_link.py: TCP proxies that pace each
direction with a token bucket, add one-way latency and count every byte) stand for the paths:

    browser (office desk) --office uplink--> user server (cloud) --office uplink--> store (office)
    browser (office desk) --office LAN-----> store (office)            (the browser endpoint)
    training job (cloud)  --office uplink--> store (office)

The office uplink is 100 Mbit/s each way with 20 ms one-way latency, the office LAN 1 Gbit/s with
0.5 ms (``--uplink-mbit``, ``--uplink-latency-ms``, ``--lan-mbit``, ``--lan-latency-ms``). Every
client reaches every server only through its link's port, so the counters are the bytes, headers
included, that crossed each path (measured, not computed). For an object of ``--link-mib`` MiB:

* an upload through the user server (``PUT storage/upload``): it crosses the uplink twice, office
  to cloud and back (``bytes_over_link_via_server``, ``link_bytes_via_server_x`` ~ 2);
* a direct upload (the server's ``direct-uploads`` routes, driven as the panel's direct.ts does:
  3 parts in flight, their presigned URLs asked 8 at a time ahead of need, PUT to the store): only the small JSON calls to the server cross the uplink (``bytes_over_link_direct``,
  ``link_bytes_direct_x`` ~ 0); the object crosses the LAN once. Over both links together, the
  data moves once directly and twice through the server (``network_bytes_direct_x`` ~ 1,
  ``network_bytes_via_server_x`` ~ 2): the "1x vs 2x" of the issue;
* ``upload_direct_ratio`` = direct upload throughput / the SDK's ``fput_object`` of the same bytes
  from the same desk to the same store over the same path (the LAN), best of ``--link-rounds``
  each, interleaved (target >= 0.95). The direct upload pays its calls to the server across the
  uplink (a few round trips), the SDK none;
* ``cache_hit_speedup``: the pipeline template's reader (ml/s3io.py with ml/s3cache.py,
  ``S3IO_CACHE_DIR`` on the job's disk) reads the same object version twice over the uplink; the
  first read's time / the second's (a cache hit: a HEAD crosses the uplink, the bytes come from
  disk, verified), best of ``--cache-rounds`` pairs, each on an emptied cache. Target >= 10.

When the server does not offer direct uploads (``direct_uploads`` false in ``GET storage/config``,
or the routes missing), the direct figures are left out and the run says so.

    .venv/bin/python benchmarks/storage.py            # 1 GiB object, 100,000-object prefix, 1 GiB over the link
    .venv/bin/python benchmarks/storage.py --quick    # 96 MiB, 1,000 objects, 32 MiB over the link: under a minute
    .venv/bin/python benchmarks/storage.py --quick --link-only   # the office-link figures only

The last line printed is one JSON object."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import io
import itertools
import json
import os
import secrets
import shutil
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
from minio.commonconfig import ENABLED
from minio.versioningconfig import VersioningConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throttled_link import Link  # noqa: E402  (beside this file)

TEMPLATE_ML = (Path(__file__).resolve().parents[1] / "lab_ext" / "hybridhub" / "lab_ext" / "pipelines" / "templates"
               / "ml-project" / "ml")

MiB = 1024 * 1024
BLOCK = MiB
DOWNLOADS_PER_ROUND = 3
# the panel's direct upload (lab_ext/src/storage/direct.ts): parts in flight (as many as the SDK's
# fput_object, num_parallel_uploads=3) and part URLs asked for at once
MAX_IN_FLIGHT = 3
URL_BATCH = 8


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


class RouteMissing(RuntimeError):
    """The server extension does not have the route (404 ``no_such_route``)."""


class Server:
    """A jupyter-server subprocess with the hybridhub extension, configured by HYBRIDHUB_* env."""

    def __init__(self, workdir: Path, store: EmbeddedObjectStore, endpoint: str = "", browser_endpoint: str = ""):
        self.port = free_ports(1)[0]
        self.client_port = self.port  # where clients connect: the server itself, or a link's port to it
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
            HYBRIDHUB_S3_ENDPOINT=endpoint or store.endpoint,
            HYBRIDHUB_S3_ACCESS_KEY=creds.user_access_key,
            HYBRIDHUB_S3_SECRET_KEY=creds.user_secret_key,
            # browsers reach the store: downloads may be redirected there (proxy=1 opts out)
            HYBRIDHUB_S3_BROWSER_ENDPOINT=browser_endpoint or store.endpoint,
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
        return http.client.HTTPConnection(LOOPBACK, self.client_port, timeout=600, blocksize=BLOCK)

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

    def post_json(self, route: str, body: dict, expect: int) -> dict:
        conn = self.connection()
        conn.request("POST", f"/hybridhub/storage/{route}", body=json.dumps(body),
                     headers={**self.headers(), "Content-Type": "application/json"})
        response = conn.getresponse()
        answer = response.read()
        conn.close()
        if response.status == 404 and b"no_such_route" in answer:
            raise RouteMissing(f"POST {route}: the server has no such route")
        if response.status != expect:
            raise RuntimeError(f"POST {route}: {response.status} {answer[:300]!r}")
        return json.loads(answer)

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


def direct_upload(server: Server, bucket: str, key: str, path: Path) -> tuple[dict, float]:
    """Upload ``path`` as the panel's direct upload does (lab_ext/src/storage/direct.ts): the server
    plans the parts and signs their URLs for the browser endpoint, asked ``URL_BATCH`` at a time ahead
    of need (the next batch when one of the next ``MAX_IN_FLIGHT`` parts to start has no URL); the
    browser PUTs at most ``MAX_IN_FLIGHT`` parts at once straight to the store, on kept-alive
    connections; the server completes the multipart upload. Returns the server's answer to complete
    and the seconds of the calls no part overlaps: the plan, the first URLs and complete."""
    size = path.stat().st_size
    start = time.perf_counter()
    plan = server.post_json("direct-uploads", {"bucket": bucket, "key": key, "size": size, "overwrite": True}, 201)
    waited = time.perf_counter() - start
    numbers = list(range(1, plan["parts"] + 1))
    urls: dict[str, str] = {}
    started = 0  # parts started, in order
    cond = threading.Condition()
    failure: list[BaseException] = []

    def ask_urls() -> None:  # one ask at a time, as the panel
        try:
            for first in range(1, len(numbers) + 1, URL_BATCH):
                with cond:
                    cond.wait_for(lambda: started >= first - 1 - MAX_IN_FLIGHT or failure)
                    if failure:
                        return
                batch = numbers[first - 1:first - 1 + URL_BATCH]
                got = server.post_json(f"direct-uploads/{plan['id']}/parts", {"numbers": batch}, 200)["urls"]
                with cond:
                    urls.update(got)
                    cond.notify_all()
        except BaseException as exc:  # noqa: BLE001 - handed to the parts' threads
            with cond:
                failure.append(exc)
                cond.notify_all()

    local, opened, waits = threading.local(), [], []

    def put_part(number: int) -> dict:
        nonlocal started
        with cond:
            started += 1
            cond.notify_all()
            begin = time.perf_counter()
            cond.wait_for(lambda: str(number) in urls or failure)
            waits.append(time.perf_counter() - begin)
            if failure:
                raise failure[0]
        url = urllib.parse.urlsplit(urls[str(number)])
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600, blocksize=BLOCK)
            opened.append(conn)
        with open(path, "rb") as f:
            f.seek((number - 1) * plan["part_size"])
            data = f.read(plan["part_size"])
        conn.request("PUT", f"{url.path}?{url.query}", body=data)  # no Authorization: the URL is the grant
        response = conn.getresponse()
        answer = response.read()
        if response.status != 200:
            raise RuntimeError(f"part {number}: {response.status} {answer[:300]!r}")
        return {"number": number, "etag": response.getheader("ETag")}

    asker = threading.Thread(target=ask_urls, daemon=True)
    asker.start()
    try:
        with ThreadPoolExecutor(MAX_IN_FLIGHT) as pool:
            parts = list(pool.map(put_part, numbers))
    finally:
        for conn in opened:
            conn.close()
    asker.join()
    waited += max(waits[:MAX_IN_FLIGHT], default=0)  # the first parts wait for the first URLs together
    start = time.perf_counter()
    answer = server.post_json(f"direct-uploads/{plan['id']}/complete", {"parts": parts}, 201)
    return answer, waited + time.perf_counter() - start


def load_template_reader():
    """The pipeline template's s3io (with its s3cache beside it), as a training job imports it."""
    sys.path.insert(0, str(TEMPLATE_ML))
    try:
        import s3io  # noqa: PLC0415
    finally:
        sys.path.remove(str(TEMPLATE_ML))
    return s3io


def sha256_of(path: Path) -> bytes:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(BLOCK):
            digest.update(block)
    return digest.digest()


def link_benchmark(work: Path, store: EmbeddedObjectStore, bucket: str, size: int, args) -> dict:
    """The office-uplink figures (see the module docstring): bytes over the links for an upload
    through the user server and a direct one, direct upload vs the SDK on the browser's path, and
    the template's cache reading the same object version twice from the cloud."""
    creds = store.credentials
    uplink = Link("office uplink", ("office", "cloud"), args.uplink_mbit, args.uplink_latency_ms)
    lan = Link("office LAN", ("desk", "store"), args.lan_mbit, args.lan_latency_ms)
    s3 = (LOOPBACK, store.ports.s3)
    store_from_cloud = uplink.forward(s3, client_side="cloud")  # the user server and training jobs
    store_from_desk = lan.forward(s3, client_side="desk")  # the browser endpoint
    linked = work / "linked"
    linked.mkdir()
    server = Server(linked, store, endpoint=f"http://{store_from_cloud.address}",
                    browser_endpoint=f"http://{store_from_desk.address}")
    try:
        server.client_port = uplink.forward((LOOPBACK, server.port), client_side="office").port
        sdk_desk = Minio(store_from_desk.address, creds.user_access_key, creds.user_secret_key, secure=False,
                         region="us-east-1")
        data = work / "link.bin"
        make_file(data, size)
        log(f"office uplink {args.uplink_mbit:g} Mbit/s, {args.uplink_latency_ms:g} ms each way; office LAN "
            f"{args.lan_mbit:g} Mbit/s, {args.lan_latency_ms:g} ms; {size // MiB} MiB over them")

        def crossing(fn) -> tuple[float, int, int]:
            """Seconds ``fn`` took, bytes it moved over the uplink (both ways) and over the LAN."""
            uplink.reset()
            lan.reset()
            seconds = timed(fn)
            return seconds, uplink.total(), lan.total()

        warm = work / "link-warm.bin"
        make_file(warm, MiB)
        server.upload(bucket, "linked/warm.bin", warm)  # the server finishes loading
        conn = server.connection()
        conn.request("GET", server.url("config"), headers=server.headers())
        config = json.loads(conn.getresponse().read())
        conn.close()
        direct = bool(config.get("direct_uploads"))

        t_via, link_via, lan_via = crossing(lambda: server.upload(bucket, "linked/via-server.bin", data))
        log(f"upload through the user server: {t_via:.2f} s, {link_via / size:.3f} x the object over the uplink, "
            f"{lan_via / size:.3f} x over the LAN")

        figures: dict = {}
        if direct:
            try:
                direct_upload(server, bucket, "linked/direct-probe.bin", warm)
            except RouteMissing as exc:  # an extension older than its config flag
                log(f"direct upload: {exc}")
                direct = False
        if direct:
            calls: list[float] = []
            ops = {"direct": lambda: calls.append(direct_upload(server, bucket, "linked/direct.bin", data)[1]),
                   "sdk": lambda: sdk_desk.fput_object(bucket, "linked/sdk.bin", str(data))}
            times: dict[str, list[float]] = {name: [] for name in ops}
            moved: dict[str, tuple[int, int]] = {}
            for i in range(args.link_rounds):  # interleaved, order alternating, best of each
                for name in (list(ops)[::-1] if i % 2 else list(ops)):
                    seconds, over_link, over_lan = crossing(ops[name])
                    times[name].append(seconds)
                    moved.setdefault(name, (over_link, over_lan))  # the first run's; each run moves the same
            got = Sink(digest=True)  # untimed: the store holds the bytes the browser sent
            sdk_download(Minio(store.endpoint.removeprefix("http://"), creds.user_access_key, creds.user_secret_key,
                               secure=False, region="us-east-1"), bucket, "linked/direct.bin", got)
            assert got.hash.digest() == sha256_of(data), "the directly uploaded object differs"
            best = {name: min(values) for name, values in times.items()}
            link_direct, lan_direct = moved["direct"]
            log(f"direct upload: {best['direct']:.2f} s (of which {min(calls):.2f}-{max(calls):.2f} s in calls to the server "
                f"that no part overlaps), SDK on the same path {best['sdk']:.2f} s; "
                f"{link_direct} bytes over the uplink ({link_direct / size:.4f} x), {lan_direct / size:.3f} x over the LAN")
            figures = {
                "upload_direct_mib_s": round(size / MiB / best["direct"], 1),
                "upload_sdk_lan_mib_s": round(size / MiB / best["sdk"], 1),
                "upload_direct_ratio": round(best["sdk"] / best["direct"], 3),
                "upload_direct_median_ratio": round(statistics.median(times["sdk"]) / statistics.median(times["direct"]), 3),
                "upload_direct_calls_s": round(min(calls), 3),
                "bytes_over_link_direct": link_direct,
                "bytes_over_lan_direct": lan_direct,
                "bytes_over_link_sdk": moved["sdk"][0],
                "link_bytes_direct_x": round(link_direct / size, 4),
                "network_bytes_direct_x": round((link_direct + lan_direct) / size, 3),
            }
        else:
            log("direct upload: NOT measured, the server does not offer direct uploads")

        # training data in the cloud: the template's reader, its cache on the node's disk, a pinned version
        cache_bucket = "bench-cache-" + secrets.token_hex(4)
        admin = Minio(store.endpoint.removeprefix("http://"), creds.admin_access_key, creds.admin_secret_key,
                      secure=False)
        admin.make_bucket(cache_bucket)
        admin.set_bucket_versioning(cache_bucket, VersioningConfig(ENABLED))
        version = admin.fput_object(cache_bucket, "train.bin", str(data)).version_id or ""  # setup: not over a link
        uri = f"s3://{cache_bucket}/train.bin"
        s3io = load_template_reader()
        job_env = {"S3_ENDPOINT": f"http://{store_from_cloud.address}", "AWS_REGION": "us-east-1",
                   "AWS_ACCESS_KEY_ID": creds.user_access_key, "AWS_SECRET_ACCESS_KEY": creds.user_secret_key,
                   "S3IO_CACHE_DIR": str(work / "s3io-cache")}  # fmt: skip
        saved = {k: os.environ.get(k) for k in [*job_env, "S3IO_CACHE_MAX_BYTES"]}
        os.environ.update(job_env)
        os.environ.pop("S3IO_CACHE_MAX_BYTES", None)
        pairs = []
        try:
            for _ in range(args.cache_rounds):  # each: the first run of a training job on a node, then the second
                shutil.rmtree(job_env["S3IO_CACHE_DIR"], ignore_errors=True)  # a fresh node's cache volume
                reads = []
                for _ in range(2):
                    said, got = io.StringIO(), []
                    with contextlib.redirect_stderr(said):  # the job log's hit or miss line
                        seconds, over_link, _ = crossing(lambda: got.append(s3io.read_object(uri, version)[0]))
                    line = said.getvalue().strip()
                    log(f"training read {len(reads) + 1}: {seconds:.2f} s, {over_link} bytes over the uplink; {line}")
                    reads.append((hashlib.sha256(got[0]).digest(), line, seconds, over_link))
                    del got
                pairs.append(reads)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        expected = sha256_of(data)
        for (miss_sha, miss_said, _, _), (hit_sha, hit_said, _, _) in pairs:
            assert miss_sha == hit_sha == expected, "a training read returned other bytes"
            assert "cache miss" in miss_said and "cache hit" in hit_said, (miss_said, hit_said)
        t_miss = min(miss[2] for miss, _ in pairs)  # best of each, as the other figures
        t_hit = min(hit[2] for _, hit in pairs)
        link_miss, link_hit = pairs[0][0][3], pairs[0][1][3]
        log(f"training reads: miss {t_miss:.2f} s, hit {t_hit:.2f} s (best of {len(pairs)} each; pairs "
            + ", ".join(f"{m[2] / h[2]:.1f}x" for m, h in pairs) + ")")
    finally:
        server.stop()
        uplink.close()
        lan.close()
    return {
        "link_object_mib": size // MiB,
        "uplink_mbit": args.uplink_mbit,
        "uplink_latency_ms": args.uplink_latency_ms,
        "lan_mbit": args.lan_mbit,
        "lan_latency_ms": args.lan_latency_ms,
        "direct_uploads": direct,
        "upload_via_server_link_mib_s": round(size / MiB / t_via, 1),
        "bytes_over_link_via_server": link_via,
        "bytes_over_lan_via_server": lan_via,
        "link_bytes_via_server_x": round(link_via / size, 4),
        "network_bytes_via_server_x": round((link_via + lan_via) / size, 3),
        **figures,
        "cache_miss_s": round(t_miss, 3),
        "cache_hit_s": round(t_hit, 3),
        "cache_hit_speedup": round(t_miss / t_hit, 2),
        "cache_rounds": len(pairs),
        "cache_hit_speedup_pairs": [round(miss[2] / hit[2], 2) for miss, hit in pairs],  # the spread on this machine
        "bytes_over_link_cache_miss": link_miss,
        "bytes_over_link_cache_hit": link_hit,
    }


def loopback_benchmark(work: Path, store: EmbeddedObjectStore, admin: Minio, sdk: Minio, bucket: str, size: int,
                       n_list: int, quick: bool) -> dict:
    """The loopback figures (the first four points of the module docstring), against ``bucket``."""
    n_small, small_size, repeats = (100, 16 * 1024, 7) if quick else (500, 16 * 1024, 15)
    rounds = 2 if quick else 3
    server = Server(work, store)
    try:
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
        server.stop()

    return {
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


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="under a minute: 96 MiB object, 1,000-object prefix, 32 MiB over the office link, "
                             "fewer rounds (figures are noisier than a full run's)")
    parser.add_argument("--size-mib", type=int, help="size of the large object")
    parser.add_argument("--objects", type=int, help="objects in the listed prefix")
    parser.add_argument("--link-mib", type=int, help="size of the object sent over the office link (1024; --quick 32)")
    parser.add_argument("--uplink-mbit", type=float, default=100.0, help="the office uplink's rate each way, Mbit/s")
    parser.add_argument("--uplink-latency-ms", type=float, default=20.0, help="the office uplink's one-way latency")
    parser.add_argument("--lan-mbit", type=float, default=1000.0, help="the office LAN's rate each way, Mbit/s")
    parser.add_argument("--lan-latency-ms", type=float, default=0.5, help="the office LAN's one-way latency")
    parser.add_argument("--link-rounds", type=int, help="direct uploads and SDK uploads over the link (best of; 3, --quick 2)")
    parser.add_argument("--cache-rounds", type=int,
                        help="training read pairs (a fresh cache each: miss, then hit), best of each (2, --quick 1)")
    parser.add_argument("--link-only", action="store_true",
                        help="only the office-link figures (the last line has the link keys only)")
    args = parser.parse_args(argv)
    size = (args.size_mib or (96 if args.quick else 1024)) * MiB
    link_size = (args.link_mib or (32 if args.quick else 1024)) * MiB
    n_list = args.objects or (1_000 if args.quick else 100_000)
    args.link_rounds = args.link_rounds or (2 if args.quick else 3)
    args.cache_rounds = args.cache_rounds or (1 if args.quick else 2)

    result = {"benchmark": "storage", "quick": bool(args.quick)}
    with tempfile.TemporaryDirectory(prefix="hybridhub-bench-") as tmp:
        work = Path(tmp)
        creds = StoreCredentials("admin" + secrets.token_hex(4), secrets.token_urlsafe(16),
                                 "user" + secrets.token_hex(4), secrets.token_urlsafe(16))
        store = EmbeddedObjectStore(work / "store", StorePorts.free(), creds)
        store.start()
        try:
            host = store.endpoint.removeprefix("http://")
            admin = Minio(host, creds.admin_access_key, creds.admin_secret_key, secure=False)
            sdk = Minio(host, creds.user_access_key, creds.user_secret_key, secure=False, region="us-east-1")
            bucket = "bench-" + secrets.token_hex(4)
            admin.make_bucket(bucket)
            if not args.link_only:
                result.update(loopback_benchmark(work, store, admin, sdk, bucket, size, n_list, args.quick))
            result.update(link_benchmark(work, store, bucket, link_size, args))
        finally:
            store.stop()

    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
