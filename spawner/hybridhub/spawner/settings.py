"""Settings shared by every hybridhub spawner (``c.HybridSpawner.*``).

Both :class:`~hybridhub.spawner.local.HybridLocalSpawner` and the Kubernetes spawner mix
this in, so an admin writes storage and GitLab settings once.
"""

from __future__ import annotations

from traitlets import Bool, TraitError, Unicode, default, validate
from traitlets.config import LoggingConfigurable

from . import envvars
from .form import SERVICE_NAME
from .storage_keys import user_keys

SERVER_TOKEN_SCOPES = (
    "users:activity!user",  # JupyterHub's own `server` role: activity, and access to this server
    "access:servers!server",
    "access:services!service=hybridhub-cost",  # the transfer reports (docs/cost.md, "Data transfer")
)


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
    storage_access_key = Unicode(
        "",
        config=True,
        help="""One S3 access key handed to every user server (kept out of logs). Every user then
        shares one identity; prefer per-user keys (storage_credentials_file) with a store policy
        that gives each identity its own area (docs/storage.md).""",
    )
    storage_secret_key = Unicode("", config=True, help="The secret key of storage_access_key (kept out of logs).")
    storage_credentials_file = Unicode(
        "",
        config=True,
        help="""Per-user S3 keys: path, on the hub, of a JSON file
        ``{"<username>": {"access_key": "...", "secret_key": "..."}}`` (for example a Kubernetes
        Secret mounted into the hub pod). When set, each user's server gets only its own user's
        keys, read at every start, and storage_access_key/storage_secret_key are not used; a user
        without an entry cannot start a server. Leave empty when the keys come from elsewhere,
        e.g. KubeSpawner ``environment`` entries with a per-user ``secretKeyRef``.""",
    )
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
    warm_on_intent_service = Unicode("", config=True, help="""Name of the hub service that warms GPU nodes
        (the cost service, ``hybridhub-cost``, with ``c.WarmupService.enabled``). When set, choosing a GPU
        profile on the spawn form asks it to warm that pool's node while the user finishes the form: the
        page gets a 5-minute token of its user, worth only ``access:services!service=<name>``, and deletes it
        after the one request. Users need that scope (the user role in helm-values/jupyterhub-aks.yaml).
        Empty (the default): no warm-up on intent.""")

    @validate("warm_on_intent_service")
    def _valid_service_name(self, proposal):
        if proposal["value"] and not SERVICE_NAME.fullmatch(proposal["value"]):
            raise TraitError(f"warm_on_intent_service: {proposal['value']!r} is not a hub service's name")
        return proposal["value"]

    @default("server_token_scopes")
    def _server_token_scopes(self):
        """JupyterHub's ``server`` role plus reaching the cost service, nothing more. The hub gives a
        token only the scopes its user holds: users need ``access:services!service=hybridhub-cost``
        (docs/cost.md) for this one to land."""
        return list(SERVER_TOKEN_SCOPES)

    def user_storage_keys(self, username: str) -> tuple[str, str]:
        """The S3 keys for this user's server: her own from the credentials file, else the shared ones."""
        if self.storage_credentials_file:
            return user_keys(self.storage_credentials_file, username)
        return self.storage_access_key, self.storage_secret_key

    def hybrid_env(self, username: str) -> dict[str, str]:
        """The ``HYBRIDHUB_*`` variables for one user's server (only those that are set)."""
        access_key, secret_key = self.user_storage_keys(username) if self.storage_endpoint else ("", "")
        values = {
            envvars.S3_ENDPOINT: self.storage_endpoint,
            envvars.S3_BROWSER_ENDPOINT: self.storage_browser_endpoint,
            envvars.S3_REGION: self.storage_region,
            envvars.S3_ACCESS_KEY: access_key,
            envvars.S3_SECRET_KEY: secret_key,
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
