"""The demo's model registry: a real MLflow tracking server (``mlflow server``) on a loopback port.

The example pipeline's jobs register each model version through the MLflow client API, the same
API GitLab's model registry speaks (docs/pipelines.md), so the demo runs the real thing instead
of a stand-in: SQLite for runs and registered models, a local folder for artifacts, served
through the tracking server (``--serve-artifacts``: clients upload over HTTP, never to the path).

Flags are those of ``mlflow server --help`` in MLflow 3.17.2. Its security middleware is kept on
and narrowed: only the Host headers of this port (DNS rebinding) and only the hub's origin for
CORS. The background job runner (huey, for GenAI evaluation jobs the demo never uses) is turned
off with ``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false``: it starts eight more processes and leaves
a folder in /dev/shm behind. Start-up measured on the 2-core dev machine: about 7 s to /health.

Each user's models are her own: the server runs MLflow's basic-auth app (``--app-name basic-auth``)
with workspaces (``--enable-workspaces``). Its auth config (``basic_auth.ini`` as MLflow's
mlflow/server/auth/config.py reads it) gives nobody anything by default: ``default_permission =
NO_PERMISSIONS`` and ``grant_default_workspace_access = false``; each user gets a workspace of her
own (mlflow_accounts.py). The administrator's password reaches the server through its process
environment only (``MLFLOW_AUTH_ADMIN_PASSWORD``, read once when the user store is empty).
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from .children import find_binary, start_child
from .errors import DemoError
from .mlflow_accounts import MlflowAdmin

START_TIMEOUT = 120.0


def mlflow_command(root: Path, port: int, origins: tuple[str, ...] = ()) -> list[str]:
    """The ``mlflow server`` command line for a server keeping its data under ``root``."""
    command = [
        find_binary("mlflow") or "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination", str(root / "mlflow-artifacts"),
        "--serve-artifacts",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--allowed-hosts", f"127.0.0.1:{port},localhost:{port}",
    ]  # fmt: skip
    if origins:
        command += ["--cors-allowed-origins", ",".join(origins)]
    return command


def auth_config(root: Path, admin: MlflowAdmin) -> str:
    """The basic-auth app's config: users' store beside the tracking data, nothing granted by default."""
    return "\n".join([
        "[mlflow]",
        "default_permission = NO_PERMISSIONS",
        f"database_uri = sqlite:///{root / 'basic_auth.db'}",
        f"admin_username = {admin.username}",
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth",
        "grant_default_workspace_access = false",
        "",
    ])  # fmt: skip


def mlflow_environment(base: dict[str, str] | None = None, admin: MlflowAdmin | None = None,
                       config_path: Path | None = None, bootstrap: bool = True) -> dict[str, str]:  # fmt: skip
    """The server's environment: no job runner, no usage telemetry, no tracking URI or MLflow
    credential of its own; with ``admin``, the auth app's config, and the first administrator's
    password only to ``bootstrap`` an empty user store (MLflow reads it then only:
    create_admin_user in mlflow/server/auth/__init__.py), so a restarted server holds none."""
    env = dict(os.environ if base is None else base)
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN",
                 "MLFLOW_WORKSPACE"):  # fmt: skip
        env.pop(name, None)
    env.update(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    if admin is not None and config_path is not None:
        env.update(MLFLOW_AUTH_CONFIG_PATH=str(config_path), MLFLOW_AUTH_ADMIN_USERNAME=admin.username,
                   MLFLOW_FLASK_SERVER_SECRET_KEY=admin.flask_secret)  # fmt: skip
        if bootstrap:
            env["MLFLOW_AUTH_ADMIN_PASSWORD"] = admin.password
    return env


def start_mlflow(root: Path, port: int, log_path: Path, origins: tuple[str, ...] = (), *,
                 admin: MlflowAdmin | None = None) -> subprocess.Popen:  # fmt: skip
    """Start the server as a supervised child (own session, dies with its parent). With ``admin``
    (the demo always passes one): the basic-auth app with workspaces; without, an open server."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "mlflow-artifacts").mkdir(exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command, config = mlflow_command(root, port, origins), None
    bootstrap = not (root / "basic_auth.db").exists()
    if admin is not None:
        config = root / "basic_auth.ini"
        config.write_text(auth_config(root, admin))
        command += ["--app-name", "basic-auth", "--enable-workspaces"]
    env = mlflow_environment(admin=admin, config_path=config, bootstrap=bootstrap)
    return start_child(command, log_path, cwd=root, env=env)


def wait_for_mlflow(process: subprocess.Popen, url: str, log_path: Path, timeout: float = START_TIMEOUT) -> float:
    """Wait until ``<url>/health`` answers OK; returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            hint = ""
            if "Flask-WTF" in log_path.read_text(errors="replace")[-20000:]:  # an install without mlflow[auth]
                hint = " It needs MLflow's basic-auth app: pip install 'hybridhub[demo]' (mlflow[auth]), or run ./dev demo."
            raise DemoError(f"the MLflow tracking server exited during start-up (code {process.returncode}); see {log_path}.{hint}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise DemoError(f"the MLflow tracking server did not answer on {url}/health within {timeout:.0f} s; see {log_path}.")
