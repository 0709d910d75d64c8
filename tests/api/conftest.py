"""A real jupyter server with the extension over a prepared site, for the API suite.

The site holds the workspace (the server root: a git repository with the pipeline template in
``ml/`` and the pipelines' local backend) and, beside it, sentinel folders the server must never
write to; ``link-out`` in the workspace points at them. The object store is the real SeaweedFS
(``object_store``) with a versioned bucket holding a few objects.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from hybridhub.lab_ext.pipelines.template import add_template
from tests.harness.lab import running_lab
from tests.models.mlflow_server import mlflow_server  # noqa: F401 (fixture: the Models routes' registry)
from tests.storage.conftest import minio_for, new_bucket

OBJECTS = {"data/a.csv": b"x,y\n1,2\n", "notes.txt": b"hello\n"}


def git(cwd: Path, *args: str) -> None:
    identity = ["-c", "user.name=Fixture", "-c", "user.email=fixture@example.com", "-c", "init.defaultBranch=main"]
    subprocess.run(["git", *identity, *args], cwd=cwd, check=True, capture_output=True)


def make_site(base: Path) -> SimpleNamespace:
    """``base/site/{workspace,outside,beside.txt}`` with the workspace's ``link-out -> ../outside``."""
    site = base / "site"
    root, outside = site / "workspace", site / "outside"
    (outside / "repo").mkdir(parents=True)
    (outside / "secret.txt").write_text("outside the workspace\n")
    (outside / "empty").mkdir()
    git(outside / "repo", "init", "-q")
    (outside / "repo" / "file.txt").write_text("a repository outside the workspace\n")
    git(outside / "repo", "add", "-A")
    git(outside / "repo", "commit", "-q", "-m", "outside")
    (site / "beside.txt").write_text("beside the workspace\n")
    root.mkdir()
    git(root, "init", "-q")
    (root / "README.md").write_text("# workspace\n")
    add_template(root, "ml")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "workspace")
    (root / "link-out").symlink_to(outside, target_is_directory=True)
    return SimpleNamespace(site=site, root=root, outside=outside)


def snapshot(site: Path, skip: Path) -> dict[str, tuple]:
    """Every entry under ``site`` except ``skip``, with its kind, size and content hash (links not followed)."""
    seen: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(site):
        here = Path(dirpath)
        if here == skip:
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            path = here / name
            if path == skip:
                continue
            st = path.lstat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() and not path.is_symlink() else ""
            seen[str(path.relative_to(site))] = (st.st_mode, st.st_size, digest, st.st_mtime_ns if path.is_dir() else 0)
    return seen


@pytest.fixture(scope="module")
def lab(object_store, mlflow_server, tmp_path_factory):  # noqa: F811
    """The running server: ``url`` (ending in ``/``), ``token``, the site, the bucket and the server's log."""
    base = tmp_path_factory.mktemp("api")
    site = make_site(base)
    creds = object_store.credentials
    admin = minio_for(object_store, creds.admin_access_key, creds.admin_secret_key)
    bucket = new_bucket(admin, versioned=True)
    for key, data in OBJECTS.items():
        admin.put_object(bucket, key, io.BytesIO(data), len(data))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYBRIDHUB_", "JUPYTERHUB_"))}
    env.update(HYBRIDHUB_S3_ENDPOINT=object_store.endpoint, HYBRIDHUB_S3_ACCESS_KEY=creds.user_access_key,
               HYBRIDHUB_S3_SECRET_KEY=creds.user_secret_key, HYBRIDHUB_S3_DEFAULT_BUCKET=bucket,
               HYBRIDHUB_MLFLOW_TRACKING_URI=mlflow_server.url,
               GIT_AUTHOR_NAME="Fuzz", GIT_AUTHOR_EMAIL="fuzz@example.com",
               GIT_COMMITTER_NAME="Fuzz", GIT_COMMITTER_EMAIL="fuzz@example.com")  # fmt: skip
    log = base / "server.log"
    with running_lab(site.root, base / "home", env, timeout=90, log=log) as (url, token):
        yield SimpleNamespace(url=url, token=token, bucket=bucket, log=log, admin=admin, **vars(site))
