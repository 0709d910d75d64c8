"""Assemble and run the stand-in: clock + store + cluster model + HTTP server."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import tempfile

import yaml
from tornado.httpserver import HTTPServer
from tornado.web import Application

from .apiserver import DiscoveryHandler, NotFoundHandler, ResourceHandler, StandInExtensionHandler
from .authz_api import SelfSubjectAccessReviewHandler
from .priority_api import PriorityClassHandler
from .daemonsets_api import DaemonSetHandler
from .clock import FastClock, ManualClock
from .cluster import Cluster
from .pools import ClusterConfig, load_file
from .store import Store

DEFAULT_TOKEN = "kube-standin-token"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class KubeStandIn:
    """A running stand-in.  Create it inside a running asyncio loop.

    ``speed=None`` gives a ManualClock (tests advance time themselves);
    a number gives a FastClock running that many times faster than real time.
    """

    def __init__(self, config: ClusterConfig | str | os.PathLike, *, speed: float | None = None,
                 manual_clock: bool = False, token: str | None = DEFAULT_TOKEN,
                 watch_timeout: float = 1800.0, bookmark_interval: float = 60.0):
        if not isinstance(config, ClusterConfig):
            config = load_file(config)
        self.config = config
        speed = speed if speed is not None else config.speed
        self.clock = ManualClock() if manual_clock else FastClock(speed or 1.0)
        self.store = Store(self.clock, history=config.history)
        self.cluster = Cluster(config, self.clock, self.store)
        self.token = token
        self.accounts: dict = {}  # more tokens, each an authz.Account with RBAC rules (authz.py)
        self.watch_timeout = watch_timeout
        self.bookmark_interval = bookmark_interval
        self.stats: dict[str, int] = {}  # "watch": watches served, "gone": 410s sent
        self.server: HTTPServer | None = None
        self.url = ""
        self.kubeconfig = ""

    def count(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1

    def app(self) -> Application:
        args = {"standin": self}
        return Application([
            (r"/(version|api|api/v1|apis|healthz|livez|readyz)/?", DiscoveryHandler, args),
            (r"/api/v1/(.*)", ResourceHandler, args),
            (r"/_standin/(\w+)", StandInExtensionHandler, args),
            (r"/apis/authorization\.k8s\.io/v1/selfsubjectaccessreviews/?", SelfSubjectAccessReviewHandler, args),
            (r"/apis/scheduling\.k8s\.io/v1/?(.*)", PriorityClassHandler, args),
            (r"/apis/apps/v1/?(.*)", DaemonSetHandler, args),
            (r"/.*", NotFoundHandler, args),
        ])

    async def start(self, port: int = 0, host: str = "127.0.0.1", kubeconfig_dir: str | None = None,
                    ssl_context=None) -> str:
        """Serve on ``host:port``; with ``ssl_context`` over HTTPS, as a real API server does
        (in-cluster clients only speak HTTPS to it, trusting the service account's ca.crt)."""
        port = port or free_port(host)
        self.server = HTTPServer(self.app(), idle_connection_timeout=3600, ssl_options=ssl_context)
        self.server.listen(port, host)
        self.url = f"{'https' if ssl_context else 'http'}://{host}:{port}"
        self.kubeconfig = self.write_kubeconfig(kubeconfig_dir)
        return self.url

    def write_kubeconfig(self, directory: str | None = None) -> str:
        directory = directory or tempfile.mkdtemp(prefix="kube-standin-")
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, "kubeconfig.yaml")
        user = {"token": self.token} if self.token else {}
        with open(path, "w") as f:
            yaml.safe_dump({
                "apiVersion": "v1", "kind": "Config", "current-context": "kube-standin",
                "clusters": [{"name": "kube-standin", "cluster": {"server": self.url}}],
                "users": [{"name": "kube-standin", "user": user}],
                "contexts": [{"name": "kube-standin", "context": {"cluster": "kube-standin",
                                                                   "user": "kube-standin", "namespace": "default"}}],
            }, f)
        return path

    async def serve_until_signalled(self) -> None:
        """Serve until SIGINT or SIGTERM (a standalone program), then stop."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await self.stop()

    async def stop(self) -> None:
        self.store.close_watches()
        for _ in range(100):  # let the watch handlers end their streams cleanly
            if not self.store.watcher_count():
                break
            await asyncio.sleep(0.01)
        if self.server is not None:
            self.server.stop()
            await self.server.close_all_connections()
            self.server = None
        await self.cluster.kubelet.close()
