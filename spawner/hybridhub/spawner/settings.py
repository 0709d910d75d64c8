"""Settings shared by every hybridhub spawner (``c.HybridSpawner.*``).

Both :class:`~hybridhub.spawner.local.HybridLocalSpawner` and the Kubernetes spawner mix
this in, so an admin writes storage and GitLab settings once.
"""

from __future__ import annotations

from traitlets import Bool, Unicode
from traitlets.config import LoggingConfigurable

from . import envvars


class HybridSpawner(LoggingConfigurable):
    """Mixin: storage and code-home settings turned into ``HYBRIDHUB_*`` variables."""

    storage_endpoint = Unicode(
        "",
        config=True,
        help="URL of the S3-compatible store (MinIO) given to user servers, e.g. https://minio.corp:9000.",
    )
    storage_browser_endpoint = Unicode(
        "",
        config=True,
        help="""The store's URL as users' browsers reach it (often the same as storage_endpoint
        on-prem). When set, downloads to the computer are redirected to a short-lived presigned
        URL on it: the bytes go store -> browser, not store -> cloud pod -> browser (no cloud
        egress, no user-server CPU). Leave empty when browsers cannot reach the store.""",
    )
    storage_region = Unicode("us-east-1", config=True, help="Region used to sign S3 requests.")
    storage_access_key = Unicode("", config=True, help="S3 access key handed to user servers (kept out of logs).")
    storage_secret_key = Unicode("", config=True, help="S3 secret key handed to user servers (kept out of logs).")
    storage_verify_tls = Bool(True, config=True, help="Verify the object store's TLS certificate.")
    storage_ca_bundle = Unicode("", config=True, help="Path, inside the user server, to a PEM CA bundle for MinIO.")
    storage_default_bucket = Unicode("", config=True, help="Bucket the storage panel opens first.")
    storage_prefix_template = Unicode(
        "",
        config=True,
        help="""Optional per-user key prefix, e.g. ``users/{username}/``.
        When set, each user's storage panel is confined to keys under it.""",
    )
    git_remote_template = Unicode(
        "",
        config=True,
        help="""Remote of each user's notebook repository; ``{username}`` is expanded.
        The demo points it at a local bare repository per user.""",
    )
    gitlab_url = Unicode("", config=True, help="Base URL of the on-prem GitLab. Empty: GitLab not configured.")
    gitlab_ca_bundle = Unicode("", config=True, help="Path, inside the user server, to a PEM CA bundle for GitLab.")

    def hybrid_env(self, username: str) -> dict[str, str]:
        """The ``HYBRIDHUB_*`` variables for one user's server (only those that are set)."""
        values = {
            envvars.S3_ENDPOINT: self.storage_endpoint,
            envvars.S3_BROWSER_ENDPOINT: self.storage_browser_endpoint,
            envvars.S3_REGION: self.storage_region,
            envvars.S3_ACCESS_KEY: self.storage_access_key,
            envvars.S3_SECRET_KEY: self.storage_secret_key,
            envvars.S3_VERIFY_TLS: "true" if self.storage_verify_tls else "false",
            envvars.S3_CA_BUNDLE: self.storage_ca_bundle,
            envvars.S3_DEFAULT_BUCKET: self.storage_default_bucket,
            envvars.S3_PREFIX: self.storage_prefix_template.format(username=username),
            envvars.GIT_REMOTE_URL: self.git_remote_template.format(username=username),
            envvars.GITLAB_URL: self.gitlab_url,
            envvars.GITLAB_CA_BUNDLE: self.gitlab_ca_bundle,
        }
        if not self.storage_endpoint:
            values = {k: v for k, v in values.items() if not k.name.startswith("HYBRIDHUB_S3_")}
        return {var.name: value for var, value in values.items() if value}
