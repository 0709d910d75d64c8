"""Server-extension configuration (``c.StorageConfig.*``, ``c.CodeHomeConfig.*``).

Defaults come from the ``HYBRIDHUB_*`` environment the spawner sets, so a user server needs
no config file; an admin may still override any value in ``jupyter_server_config.py``.
"""

from __future__ import annotations

import os

from traitlets import Bool, Float, Unicode, default
from traitlets.config import Configurable

from hybridhub.spawner import envvars


def _env(var: envvars.EnvVar, fallback: str = "") -> str:
    return os.environ.get(var.name, fallback)


class StorageConfig(Configurable):
    """Where the object store is and how to reach it."""

    endpoint = Unicode(config=True, help="S3 endpoint URL, e.g. https://minio.corp:9000.")
    browser_endpoint = Unicode(
        config=True,
        help="The store's URL as browsers reach it; when set, downloads to the computer are "
        "redirected to a short-lived presigned URL there, and presigned links use it.",
    )
    region = Unicode(config=True, help="Region used to sign requests.")
    access_key = Unicode(config=True, help="Access key (kept in server memory; never sent to the browser).")
    secret_key = Unicode(config=True, help="Secret key (kept in server memory; never sent to the browser).")
    verify_tls = Bool(config=True, help="Verify the store's TLS certificate.")
    ca_bundle = Unicode(config=True, help="PEM CA bundle for an on-prem certificate authority.")
    default_bucket = Unicode(config=True, help="Bucket opened first in the panel.")
    prefix = Unicode(config=True, help="If set, only keys under this prefix are reachable.")

    @default("endpoint")
    def _endpoint(self):
        return _env(envvars.S3_ENDPOINT)

    @default("browser_endpoint")
    def _browser_endpoint(self):
        return _env(envvars.S3_BROWSER_ENDPOINT)

    @default("region")
    def _region(self):
        return _env(envvars.S3_REGION, "us-east-1")

    @default("access_key")
    def _access_key(self):
        return _env(envvars.S3_ACCESS_KEY)

    @default("secret_key")
    def _secret_key(self):
        return _env(envvars.S3_SECRET_KEY)

    @default("verify_tls")
    def _verify_tls(self):
        return _env(envvars.S3_VERIFY_TLS, "true").strip().lower() not in {"false", "0", "no"}

    @default("ca_bundle")
    def _ca_bundle(self):
        return _env(envvars.S3_CA_BUNDLE)

    @default("default_bucket")
    def _default_bucket(self):
        return _env(envvars.S3_DEFAULT_BUCKET)

    @default("prefix")
    def _prefix(self):
        return _env(envvars.S3_PREFIX)

    @property
    def configured(self) -> bool:
        return bool(self.endpoint and self.access_key and self.secret_key)


class CodeHomeConfig(Configurable):
    """Where the user's code lives: a git remote and, optionally, GitLab."""

    git_remote_url = Unicode(config=True, help="Remote of the user's notebook repository.")
    gitlab_url = Unicode(config=True, help="Base URL of GitLab; empty when GitLab is not configured.")

    gitlab_token = Unicode(
        config=True,
        help="""The user's GitLab OAuth access token (from the hub login).
        Kept in server memory, handed only to git through GIT_ASKPASS; never sent to the browser.""",
    )
    gitlab_ca_bundle = Unicode(config=True, help="PEM CA bundle for a self-hosted GitLab's certificate authority.")
    git_timeout = Float(30.0, config=True, help="Seconds a local git command may take before it is stopped.")
    git_network_timeout = Float(
        120.0, config=True, help="Seconds a git command that talks to the remote (push, pull, clone) may take."
    )

    @default("gitlab_token")
    def _gitlab_token(self):
        return _env(envvars.GITLAB_TOKEN)

    @default("gitlab_ca_bundle")
    def _gitlab_ca_bundle(self):
        return _env(envvars.GITLAB_CA_BUNDLE)

    @default("git_remote_url")
    def _git_remote_url(self):
        return _env(envvars.GIT_REMOTE_URL)

    @default("gitlab_url")
    def _gitlab_url(self):
        return _env(envvars.GITLAB_URL)
