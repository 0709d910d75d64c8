"""Server-extension configuration (``c.StorageConfig.*``, ``c.CodeHomeConfig.*``).

Defaults come from the ``HYBRIDHUB_*`` environment the spawner sets, so a user server needs
no config file; an admin may still override any value in ``jupyter_server_config.py``.
"""

from __future__ import annotations

import os

from traitlets import Bool, Float, Int, Unicode, default
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
    first_byte_timeout = Float(
        10.0,
        config=True,
        help="""Seconds from sending a request to the store (or connecting to it) until its answer
        starts. A store that does not answer by then fails the call with storage_unreachable;
        it is not retried, so this is the longest wait.""",
    )
    stall_timeout = Float(
        30.0,
        config=True,
        help="""Seconds an upload or download may go without moving a single byte in either
        direction before it fails with storage_unreachable (a hung store or network path).
        A slow but moving transfer never hits it.""",
    )
    leftover_retry_seconds = Float(
        10.0,
        config=True,
        help="""Seconds between attempts to clean up what a failed or crashed transfer left (a
        multipart upload the store could not be told to abort, a download's temporary file),
        while the store cannot be reached. Cleanup also runs at server start.""",
    )
    direct_uploads = Bool(
        True,
        config=True,
        help="""Let browsers upload straight to the store when ``browser_endpoint`` is set: this
        server starts, completes and aborts the multipart upload and hands the browser short-lived
        presigned URLs of its parts only (the secret key never leaves the server). Off, or without
        a browser endpoint, uploads stream through this server.""",
    )
    direct_part_expiry = Int(
        300,
        min=1,
        max=7 * 24 * 3600,
        config=True,
        help="""Seconds a presigned part URL of a direct upload stays valid. The browser asks for
        a part's URL again when it expired or its upload failed.""",
    )
    direct_upload_idle_timeout = Float(
        120.0,
        min=0.1,
        config=True,
        help="""Seconds a direct upload may go without a request from the browser (for part URLs,
        a lease renewal, completion) before this server aborts its multipart upload: a browser
        that was closed or lost its network leaves no parts behind.""",
    )

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
    gitlab_token_expires_at = Float(
        config=True, help="When gitlab_token expires (Unix seconds); 0 when unknown. Set by the hub."
    )
    gitlab_token_renew_margin = Float(
        300.0,
        config=True,
        help="""Seconds before gitlab_token expires at which the server asks the hub for a fresh
        one (with its own JUPYTERHUB_API_TOKEN). A token GitLab refuses is renewed the same way.""",
    )
    gitlab_ca_bundle = Unicode(config=True, help="PEM CA bundle for a self-hosted GitLab's certificate authority.")
    git_timeout = Float(30.0, config=True, help="Seconds a local git command may take before it is stopped.")
    git_network_timeout = Float(
        120.0, config=True, help="Seconds a git command that talks to the remote (push, pull, clone) may take."
    )

    @default("gitlab_token")
    def _gitlab_token(self):
        return _env(envvars.GITLAB_TOKEN)

    @default("gitlab_token_expires_at")
    def _gitlab_token_expires_at(self):
        try:
            return float(_env(envvars.GITLAB_TOKEN_EXPIRES_AT, "0") or 0)
        except ValueError:
            return 0.0

    @property
    def gitlab_token_source(self):
        """The one :class:`~hybridhub.lab_ext.gitlab_token.GitLabTokenSource` of this server; a
        renewal also updates ``gitlab_token``, for code that reads it later."""
        if getattr(self, "_token_source", None) is None:
            from .gitlab_token import from_environment

            def renewed(token: str) -> None:
                self.gitlab_token = token

            self._token_source = from_environment(
                self.gitlab_token, self.gitlab_token_expires_at, self.gitlab_token_renew_margin, renewed,
                getattr(self.parent, "log", None),
            )
        return self._token_source

    @default("gitlab_ca_bundle")
    def _gitlab_ca_bundle(self):
        return _env(envvars.GITLAB_CA_BUNDLE)

    @default("git_remote_url")
    def _git_remote_url(self):
        return _env(envvars.GIT_REMOTE_URL)

    @default("gitlab_url")
    def _gitlab_url(self):
        return _env(envvars.GITLAB_URL)
