"""Benchmark: status, stage, commit and push through the hybridhub server extension vs the plain
git CLI, against the GitLab stand-in's real smart-HTTP git (git http-backend), in the same run.

A real jupyter-server with the extension runs on loopback with ``HYBRIDHUB_GITLAB_URL`` and
``HYBRIDHUB_GITLAB_TOKEN``; two clones of one project sit in its root. Each round edits a
notebook in both clones, then times, per clone:

* extension: ``GET /hybridhub/git/status``, ``POST stage``, ``POST commit``, ``POST push``
  (HTTP keep-alive, token via GIT_ASKPASS inside the server);
* CLI: ``git status --porcelain=v2``, ``git add``, ``git commit``, ``git push`` with the same
  askpass program and token.

Ratios are extension time / CLI time (medians; the overhead of HTTP + JSON + the lock; target
<= 1.5 for push, where the network dominates). While the extension pushes, a sampler calls
``GET /api/status`` every 20 ms: ``responsive_max_ms`` shows the server never blocks on git.

    .venv/bin/python benchmarks/git.py            # 30 rounds
    .venv/bin/python benchmarks/git.py --quick    # 8 rounds, well under a minute

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # the GitLab stand-in lives in tests/

from hybridhub.hub_ext.demo.ports import LOOPBACK, free_ports, port_accepts  # noqa: E402
from hybridhub.lab_ext.git import runner  # noqa: E402
from tests.gitlab_standin import GitLabStandIn  # noqa: E402
from tests.gitlab_standin.state import MAINTAINER  # noqa: E402

OPS = ("status", "stage", "commit", "push")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def git(cwd: Path, *args: str, env: dict | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"git {args}: {result.stderr}")
    return result.stdout


class Server:
    """jupyter-server with the extension; GitLab settings through HYBRIDHUB_* variables."""

    def __init__(self, workdir: Path, root: Path, gitlab_url: str, token: str):
        self.port = free_ports(1)[0]
        self.token = secrets.token_hex(16)
        config = workdir / "config"
        config.mkdir()
        (config / "jupyter_server_config.json").write_text(
            json.dumps({"ServerApp": {"jpserver_extensions": {"hybridhub.lab_ext": True}}})
        )
        env = dict(
            os.environ,
            JUPYTER_CONFIG_DIR=str(config),
            JUPYTER_RUNTIME_DIR=str(workdir / "runtime"),
            HYBRIDHUB_GITLAB_URL=gitlab_url,
            HYBRIDHUB_GITLAB_TOKEN=token,
            GIT_AUTHOR_NAME="Bench",
            GIT_AUTHOR_EMAIL="bench@example.com",
            GIT_COMMITTER_NAME="Bench",
            GIT_COMMITTER_EMAIL="bench@example.com",
        )
        self.log_path = workdir / "server.log"
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", f"--port={self.port}", f"--ip={LOOPBACK}", "--no-browser",
             f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={self.token}", "--allow-root"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not port_accepts(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("jupyter-server did not start:\n" + self.log_path.read_text(errors="replace")[-2000:])
            time.sleep(0.2)
        self.conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=120)

    def call(self, method: str, route: str, body: dict | None = None, conn=None) -> dict:
        conn = conn or self.conn
        headers = {"Authorization": f"token {self.token}", "Content-Type": "application/json"}
        conn.request(method, route, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {route}: {response.status} {data[:300]!r}")
        return json.loads(data)

    def stop(self) -> None:
        self.conn.close()
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


class Sampler(threading.Thread):
    """Latency of GET /api/status every 20 ms while ``active`` is set."""

    def __init__(self, server: Server):
        super().__init__(daemon=True)
        self.server, self.latencies = server, []
        self.active, self.done = threading.Event(), threading.Event()

    def run(self) -> None:
        conn = http.client.HTTPConnection(LOOPBACK, self.server.port, timeout=30)
        while not self.done.is_set():
            if self.active.wait(0.05):
                start = time.perf_counter()
                self.server.call("GET", "/api/status", conn=conn)
                self.latencies.append(time.perf_counter() - start)
                time.sleep(0.02)
        conn.close()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="8 rounds instead of 30")
    args = parser.parse_args(argv)
    rounds = 8 if args.quick else 30
    times = {mode: {op: [] for op in OPS} for mode in ("ext", "cli")}

    with tempfile.TemporaryDirectory(prefix="hybridhub-git-bench-") as tmp:
        work = Path(tmp)
        gitlab = GitLabStandIn(work / "gitlab").start()
        server = None
        try:
            user = gitlab.world.add_user("bench")
            # the project is the bench user's own: GitLab lets only Maintainers push into an empty project
            project = gitlab.world.add_project("bench", "notebooks", {user: MAINTAINER})
            token = gitlab.world.issue(user, ["api", "write_repository"]).value
            remote = f"{gitlab.url}/bench/notebooks.git"
            root = work / "root"
            root.mkdir()
            cli_env = {
                **runner.base_env(),
                "GIT_ASKPASS": str(runner.askpass_program()),
                runner.USERNAME_VAR: "oauth2",
                runner.PASSWORD_VAR: token,
                "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
                "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
            }  # fmt: skip
            for name in ("ext", "cli"):
                git(root, "-c", "init.defaultBranch=main", "init", "-q", name)
                (root / name / "model.ipynb").write_text("{}\n")
                git(root / name, "add", "-A", env=cli_env)
                git(root / name, "commit", "-q", "-m", "start", env=cli_env)
                git(root / name, "branch", "-M", f"bench-{name}")
                git(root / name, "remote", "add", "origin", remote)
                git(root / name, "-c", "credential.helper=", "push", "-q", "-u", "origin", f"bench-{name}", env=cli_env)
            server = Server(work, root, gitlab.url, token)
            sampler = Sampler(server)
            sampler.start()
            cli = ["git", "-c", "credential.helper="]
            cli_ops = {
                "status": [*cli, "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all"],
                "stage": [*cli, "add", "--all", "--", "model.ipynb"],
                "commit": [*cli, "commit", "-q", "-m", "round"],
                "push": [*cli, "push", "--porcelain", "origin", "bench-cli"],
            }
            ext_ops = {
                "status": ("GET", "/hybridhub/git/status?path=ext", None),
                "stage": ("POST", "/hybridhub/git/stage", {"path": "ext", "files": ["model.ipynb"]}),
                "commit": ("POST", "/hybridhub/git/commit", {"path": "ext", "message": "round"}),
                "push": ("POST", "/hybridhub/git/push", {"path": "ext"}),
            }
            for i in range(rounds):
                for mode in ("ext", "cli"):
                    (root / mode / "model.ipynb").write_text(json.dumps({"round": i, "cells": ["x" * 200] * 50}))
                for op in OPS:
                    method, route, body = ext_ops[op]
                    if op == "push":
                        sampler.active.set()
                    start = time.perf_counter()
                    server.call(method, route, body)
                    times["ext"][op].append(time.perf_counter() - start)
                    sampler.active.clear()
                    start = time.perf_counter()
                    result = subprocess.run(cli_ops[op], cwd=root / "cli", env=cli_env, capture_output=True)
                    times["cli"][op].append(time.perf_counter() - start)
                    if result.returncode != 0:
                        raise RuntimeError(result.stderr.decode())
            sampler.done.set()
            sampler.join(5)
            for name in ("ext", "cli"):
                local = git(root / name, "rev-parse", "HEAD").strip()
                assert git(project.repo, "rev-parse", f"bench-{name}").strip() == local, name
            server_log = server.log_path.read_text(errors="replace")
            assert token not in server_log and all(token not in line for line in gitlab.log)
            assert gitlab.violations == [], gitlab.violations
        finally:
            if server:
                server.stop()
            gitlab.stop()

    med = {mode: {op: statistics.median(v) for op, v in ops.items()} for mode, ops in times.items()}
    for op in OPS:
        log(f"{op:>7}: extension {med['ext'][op] * 1000:7.1f} ms   CLI {med['cli'][op] * 1000:7.1f} ms")
    total_ext, total_cli = sum(med["ext"].values()), sum(med["cli"].values())
    result = {
        "benchmark": "git",
        "quick": bool(args.quick),
        "rounds": rounds,
        **{f"{op}_ext_ms": round(med["ext"][op] * 1000, 1) for op in OPS},
        **{f"{op}_cli_ms": round(med["cli"][op] * 1000, 1) for op in OPS},
        **{f"{op}_ratio": round(med["ext"][op] / med["cli"][op], 2) for op in OPS},
        "round_ratio": round(total_ext / total_cli, 2),
        "responsive_max_ms": round(max(sampler.latencies) * 1000, 1) if sampler.latencies else None,
        "responsive_samples": len(sampler.latencies),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
