"""``hybridhub demo``: argument parsing and the start-up sequence."""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .errors import DemoError
from .hub_config import browser_origins, mlflow_url
from .kube_mode import standin_available, start_standin
from .identities import user_bucket, user_identities, write_credentials_file
from .layout import DEMO_ADMIN, DEMO_USERS, SAMPLE_BUCKET, DemoPaths, DemoPorts, demo_usernames
from .mlflow_accounts import MlflowAccounts, load_or_create_admin
from .mlflow_server import start_mlflow, wait_for_mlflow
from .objectstore import EmbeddedObjectStore, ObjectStoreError
from .preflight import acquire_lock, prepare_data_dir, require_binaries, require_free_ports
from .secrets_file import load_or_create
from .seed import seed_bucket, seed_user, seed_user_buckets
from .supervisor import StopSignal, start_hub, stop_process_tree, wait_for_hub

DEFAULT_PORT = 8000
DEFAULT_DATA_DIR = ".hybridhub-demo"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole platform on this machine (no Kubernetes, no GitLab)",
        description="Start a real JupyterHub on 127.0.0.1 with hybridhub's local spawner, an embedded "
        "S3 object store with sample data, a model registry (MLflow tracking server) and a local git "
        "remote per demo user.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"base port: the hub answers here; the demo uses the next {DemoPorts.SPAN - 1} ports too (default {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(DEFAULT_DATA_DIR),
        help=f"where users' files, the hub database and the object store live (default ./{DEFAULT_DATA_DIR})",
    )
    parser.add_argument(
        "--kube",
        action="store_true",
        help="use the real HybridKubeSpawner against the Kubernetes stand-in (a source checkout's test double) "
        "to watch scale-from-zero starts",
    )
    parser.add_argument(
        "--kube-speed",
        type=float,
        default=10.0,
        help="with --kube: simulated seconds per real second (default 10: a 7-minute GPU node joins in 42 s)",
    )
    parser.add_argument(
        "--no-direct-transfers",
        dest="direct_transfers",
        action="store_false",
        help="send every upload and download through the user server instead of straight between the browser "
        "and the object store (what a site whose browsers cannot reach the store gets)",
    )
    parser.set_defaults(func=run)


def _banner(ports: DemoPorts, paths: DemoPaths, secrets, direct_transfers: bool = True) -> str:
    transfers = ("browsers upload to and download from it directly" if direct_transfers
                 else "transfers go through the user servers (--no-direct-transfers)")
    return "\n".join(
        [
            "",
            f"hybridhub demo is ready: http://127.0.0.1:{ports.public}/",
            f"  log in as {', '.join(DEMO_USERS)} with password: {secrets.user_password}",
            f"  log in as {DEMO_ADMIN} (administrator) with password: {secrets.admin_password}",
            f"  object store: http://127.0.0.1:{ports.store.s3} (sample bucket '{SAMPLE_BUCKET}', read-only;"
            f" each user's own bucket '{user_bucket('<name>')}'; {transfers})",
            f"  model registry (MLflow): {mlflow_url(ports)}/ (each user's own login and workspace:"
            f" user-<name>; the hub hands it to her server)",
            f"  data: {paths.root}   logs: {paths.logs}",
            "Press Ctrl-C to stop.",
            "",
        ]
    )


def demo_store(paths: DemoPaths, ports: DemoPorts, secrets) -> EmbeddedObjectStore:
    """The demo's object store: an identity per user, and CORS for the demo's pages only (the
    storage panel's direct uploads PUT parts from JupyterLab's page, and read each part's ETag)."""
    identities = user_identities(secrets.users, shared_buckets=[SAMPLE_BUCKET])
    return EmbeddedObjectStore(paths.store, ports.store, secrets.store, identities=identities,
                               allowed_origins=browser_origins(ports))


def hub_environment(args: argparse.Namespace) -> dict[str, str]:
    """What the demo's jupyterhub_config.py reads of the options (it runs in the hub's process)."""
    return {"HYBRIDHUB_DEMO_DIRECT_TRANSFERS": "1" if args.direct_transfers else "0"}


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except DemoError as e:
        print(f"hybridhub demo: cannot start: {e}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if not 1024 <= args.port <= 65535 - DemoPorts.SPAN:
        raise DemoError(f"--port {args.port} is out of range; choose a base port between 1024 and {65535 - DemoPorts.SPAN}.")
    if args.kube and not standin_available():
        raise DemoError("--kube needs a source checkout: the Kubernetes stand-in is a test double run by its ./dev kube-standin.")
    paths = DemoPaths(args.data_dir.resolve())
    ports = DemoPorts.from_base(args.port)
    require_binaries()
    prepare_data_dir(paths)
    lock = acquire_lock(paths)
    store = hub = standin = registry = None
    try:
        require_free_ports(ports)
        secrets = load_or_create(paths.secrets, demo_usernames())
        with StopSignal() as stop:
            # the registry first: its database set-up is the slowest start, and needs nothing of the rest
            print("hybridhub demo: starting the model registry (MLflow tracking server)…", flush=True)
            registry_log = paths.logs / "mlflow.log"
            origins = browser_origins(ports)
            registry_admin = load_or_create_admin(paths.mlflow_admin)  # before the hub, which reads it
            registry = start_mlflow(paths.mlflow, ports.mlflow, registry_log, origins, admin=registry_admin)
            print("hybridhub demo: starting the object store…", flush=True)
            store = demo_store(paths, ports, secrets)
            try:
                store.start()
            except ObjectStoreError as e:
                raise DemoError(str(e)) from None
            seed_bucket(store)
            seed_user_buckets(store, secrets.users)
            write_credentials_file(paths.storage_keys, secrets.users)
            for username in demo_usernames():
                seed_user(paths, username)
            extra_env = hub_environment(args)
            if args.kube:
                print("hybridhub demo: starting the Kubernetes stand-in (test double)…", flush=True)
                paths.logs.mkdir(parents=True, exist_ok=True)
                standin = start_standin(paths, ports.kube, args.kube_speed)
                extra_env.update(HYBRIDHUB_DEMO_KUBE_URL=standin.url, KUBECONFIG=standin.kubeconfig)
            print("hybridhub demo: starting JupyterHub…", flush=True)
            hub = start_hub(paths, ports, extra_env)
            wait_for_hub(hub, ports, paths)
            wait_for_mlflow(registry, mlflow_url(ports), registry_log)
            accounts = MlflowAccounts(mlflow_url(ports), registry_admin)
            users = demo_usernames()
            # each her own MLflow login and workspace; side by side: every request checks the
            # administrator's password hash (scrypt), which is most of the registry's answer time
            with ThreadPoolExecutor(len(users)) as pool:
                list(pool.map(accounts.ensure_user, users))
            print(_banner(ports, paths, secrets, args.direct_transfers), flush=True)
            while not stop.event.wait(0.5):
                if hub.poll() is not None:
                    raise DemoError(f"JupyterHub stopped unexpectedly; see {paths.logs / 'jupyterhub.log'}.")
                if store.process is None or store.process.poll() is not None:
                    raise DemoError(f"the object store stopped unexpectedly; see {store.log_path}.")
                if registry.poll() is not None:
                    raise DemoError(f"the model registry (MLflow) stopped unexpectedly; see {registry_log}.")
                if standin is not None and standin.process.poll() is not None:
                    raise DemoError(f"the Kubernetes stand-in stopped unexpectedly; see {paths.logs / 'kube-standin.log'}.")
            print("\nhybridhub demo: stopping…", flush=True)
    finally:
        stop_process_tree(hub)
        stop_process_tree(registry)
        if standin is not None:
            stop_process_tree(standin.process)
        if store is not None:
            store.stop()
        lock.close()
    print("hybridhub demo: stopped.", flush=True)
    return 0
