"""The on-prem serving machine of the deploy tests: the podman stand-in's state (tests/podman_standin,
containers are host processes), the serving folder, the ports, the registry login, the front image
(REAL nginx) and the runner's python3. Used by the deploy test (tests/models/test_onprem_deploy.py)
and by the GitLab flow's runner (tests/models/gitlab_flow.py), whose deploy jobs run here.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from tests.podman_standin import HERE as STANDIN, register_image, register_login

REGISTRY = "registry.test"
PROJECT_IMAGE = f"{REGISTRY}/group/sensors"
FRONT_IMAGE = "docker.io/library/nginx:1.27-alpine"  # the template's FRONT_IMAGE default
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
MLSERVER = str(Path(sys.executable).with_name("mlserver"))
# what the official nginx image's /etc/nginx/nginx.conf does (https://github.com/nginxinc/docker-nginx,
# mainline/alpine/nginx.conf): workers, keepalive_timeout 65, and `include /etc/nginx/conf.d/*.conf`
# in http{}; paths moved into the container's own folder, logs to stderr (the image links them there)
NGINX_MAIN = """worker_processes 2;
error_log stderr notice;
pid {state}/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_timeout 65;
    client_body_temp_path {state}/body;
    proxy_temp_path {state}/proxy;
    fastcgi_temp_path {state}/fastcgi;
    uwsgi_temp_path {state}/uwsgi;
    scgi_temp_path {state}/scgi;
    include {mount:/etc/nginx/conf.d}/*.conf;
}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServingMachine:
    """The machine the deploy runner runs on: ``env`` is what its shell jobs see of it (the podman
    stand-in first on PATH, python3 with mlflow-skinny as PIPELINE.md asks of the deploy runner,
    the serving ports and folder as the project's CI/CD variables would set them)."""

    def __init__(self, base: Path, job_token: str = "job-token-value") -> None:
        self.base, self.state, self.serving = base, base / "podman", base / "model-serving"
        self.port, self.blue, self.green = free_port(), free_port(), free_port()
        tools = base / "runner-bin"
        tools.mkdir(parents=True)
        (tools / "python3").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        (tools / "python3").chmod(0o755)
        self.path = os.pathsep.join([str(STANDIN), str(tools), os.environ["PATH"]])
        self.env = {
            **os.environ, "PATH": self.path, "PODMAN_STANDIN_STATE": str(self.state),
            "PODMAN_STANDIN_PYTHON": sys.executable, "CI_REGISTRY": REGISTRY, "CI_REGISTRY_IMAGE": PROJECT_IMAGE,
            "CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": job_token,
        }  # fmt: skip
        self.env.update(self.variables())
        for name in ("MLFLOW_TRACKING_URI", "HYBRIDHUB_LOCAL_RUN", "PREDICTION_LOG_URI", "PRODUCTION_METRICS_URI"):
            self.env.pop(name, None)
        register_login(self.state, REGISTRY, "gitlab-ci-token", job_token)
        register_image(self.state, FRONT_IMAGE, {
            "command": ["nginx", "-g", "daemon off;"],  # the nginx image's CMD
            "programs": {"nginx": [NGINX, "-e", "stderr", "-p", "{state}", "-c", "{state}/nginx.conf"]},
            "files": {"nginx.conf": NGINX_MAIN},
        })  # fmt: skip

    def variables(self) -> dict[str, str]:
        """The deploy settings of this machine (the deploy job's variables, set as CI/CD variables)."""
        return {
            "MODEL_SERVING_DIR": str(self.serving), "SERVE_PORT": str(self.port), "SERVE_ADDRESS": "127.0.0.1",
            "SERVE_BLUE_PORT": str(self.blue), "SERVE_GREEN_PORT": str(self.green), "READY_TIMEOUT": "40",
        }  # fmt: skip

    def podman(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["podman", *args], env=self.env, capture_output=True, text=True, timeout=60)

    def containers(self) -> dict[str, bool]:
        """name -> running, of the containers the stand-in has (removed ones excluded)."""
        found = {}
        for folder in sorted((self.state / "containers").glob("[0-9]*")):
            name = json.loads((folder / "config.json").read_text())["name"]
            found[name] = self.podman("inspect", "--format", "{{.State.Running}}", name).stdout.strip() == "true"
        return found

    def close(self) -> None:
        for name in self.containers():
            self.podman("rm", "-f", "-t", "2", name)
