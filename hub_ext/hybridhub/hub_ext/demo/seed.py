"""Seed the demo: the sample bucket, per user her own bucket and a workspace tracked by a local bare git remote.

Idempotent: re-running keeps what exists (users' work is never overwritten).
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

from minio import Minio
from minio.commonconfig import ENABLED
from minio.versioningconfig import VersioningConfig

from hybridhub.lab_ext.pipelines.template import add_template

from .errors import DemoError
from .identities import user_bucket
from .layout import SAMPLE_BUCKET, DemoPaths
from .objectstore import EmbeddedObjectStore
from .sample_data import sample_objects

GETTING_STARTED = {
    "cells": [
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": [
                "# hybridhub demo\n",
                "Sample data lives in the `datasets` bucket of the embedded object store (read-only for you);\n",
                "your own files go in your bucket `home-<your name>`.\n",
                "The storage endpoint and your keys are in `HYBRIDHUB_S3_*` environment variables.",
            ],
        },
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": [
                "import os\n",
                "from minio import Minio\n",
                "endpoint = os.environ['HYBRIDHUB_S3_ENDPOINT'].split('://', 1)[1]\n",
                "client = Minio(endpoint, os.environ['HYBRIDHUB_S3_ACCESS_KEY'], os.environ['HYBRIDHUB_S3_SECRET_KEY'], secure=False)\n",
                "[o.object_name for o in client.list_objects('datasets', recursive=True)]",
            ],
        },
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


HOME_GITIGNORE = """\
# files Jupyter and the tools keep in the home directory, not notebook work
.jupyter/
.local/
.ipython/
.cache/
.config/
.npm/
.hybridhub/
.ipynb_checkpoints/
__pycache__/
"""


def _admin_client(store: EmbeddedObjectStore) -> Minio:
    creds = store.credentials
    return Minio(
        store.endpoint.split("://", 1)[1],
        access_key=creds.admin_access_key,
        secret_key=creds.admin_secret_key,
        secure=False,
    )


def _ensure_versioned_bucket(client: Minio, name: str) -> None:
    if not client.bucket_exists(name):
        client.make_bucket(name)
        client.set_bucket_versioning(name, VersioningConfig(ENABLED))


def seed_user_buckets(store: EmbeddedObjectStore, usernames) -> None:
    """Each user's own bucket, made with the admin key (users' identities cannot make buckets)."""
    client = _admin_client(store)
    for username in usernames:
        _ensure_versioned_bucket(client, user_bucket(username))


def seed_bucket(store: EmbeddedObjectStore) -> None:
    client = _admin_client(store)
    _ensure_versioned_bucket(client, SAMPLE_BUCKET)
    for key, (content, content_type) in sample_objects().items():
        try:
            client.stat_object(SAMPLE_BUCKET, key)
            continue
        except Exception:
            pass
        client.put_object(SAMPLE_BUCKET, key, io.BytesIO(content), len(content), content_type=content_type)


def _git(args: list[str], cwd: Path) -> None:
    command = [
        "git",
        "-c", "user.name=hybridhub demo",
        "-c", "user.email=demo@hybridhub.invalid",
        "-c", "init.defaultBranch=main",
        *args,
    ]  # fmt: skip
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise DemoError(f"git {' '.join(args)} failed in {cwd}: {result.stderr.strip()}")


def seed_user(paths: DemoPaths, username: str) -> None:
    """A bare remote and a home directory cloned from it, holding a starter notebook."""
    remote = paths.git_remote(username)
    home = paths.user_home(username)
    if not remote.exists():
        remote.parent.mkdir(parents=True, exist_ok=True)
        _git(["init", "--bare", "--quiet", str(remote)], cwd=remote.parent)
    if (home / ".git").exists():
        return
    home.mkdir(parents=True, exist_ok=True)
    (home / "getting-started.ipynb").write_text(json.dumps(GETTING_STARTED, indent=1))
    (home / "README.md").write_text(f"# {username}'s notebooks\n\nPushed to the demo's local remote.\n")
    # the home is the repository: keep Jupyter's and the tools' own files out of it
    (home / ".gitignore").write_text(HOME_GITIGNORE)
    # the ML CI/CD template with its example project: the pipeline panel runs it locally
    add_template(home, "")
    _git(["init", "--quiet"], cwd=home)
    _git(["add", "--all"], cwd=home)
    _git(["commit", "--quiet", "-m", "Start the notebook repository"], cwd=home)
    _git(["remote", "add", "origin", str(remote)], cwd=home)
    _git(["push", "--quiet", "-u", "origin", "main"], cwd=home)
