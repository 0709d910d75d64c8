"""The ``HYBRIDHUB_*`` environment variables the hub hands to each user server.

This module is the one place where they are named and described: the spawners set them,
the server extension reads them, and ``docs/environment.md`` is checked against this table
by the test suite. Variables marked secret are only ever placed in the server's process
environment (a pod's env in Kubernetes), never in labels, annotations, logs or files.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EnvVar:
    name: str
    description: str
    secret: bool = False


S3_ENDPOINT = EnvVar(
    "HYBRIDHUB_S3_ENDPOINT",
    "URL of the S3-compatible object store (MinIO on-prem; the embedded store in the demo), "
    "for example `https://minio.example.local:9000`.",
)
S3_BROWSER_ENDPOINT = EnvVar(
    "HYBRIDHUB_S3_BROWSER_ENDPOINT",
    "The object store's URL as users' browsers reach it. When set, downloads to the computer and "
    "presigned links go straight to the store with a short-lived presigned URL instead of "
    "through the user server (no cloud egress, no server CPU).",
)
S3_REGION = EnvVar("HYBRIDHUB_S3_REGION", "Region name used for SigV4 signing (default `us-east-1`).")
S3_ACCESS_KEY = EnvVar("HYBRIDHUB_S3_ACCESS_KEY", "Access key of the user's storage credentials.", secret=True)
S3_SECRET_KEY = EnvVar("HYBRIDHUB_S3_SECRET_KEY", "Secret key of the user's storage credentials.", secret=True)
S3_VERIFY_TLS = EnvVar("HYBRIDHUB_S3_VERIFY_TLS", "`true` (default) or `false`: verify the store's TLS certificate.")
S3_CA_BUNDLE = EnvVar("HYBRIDHUB_S3_CA_BUNDLE", "Path to a PEM CA bundle for an on-prem certificate authority.")
S3_DEFAULT_BUCKET = EnvVar("HYBRIDHUB_S3_DEFAULT_BUCKET", "Bucket the storage panel opens first.")
S3_PREFIX = EnvVar(
    "HYBRIDHUB_S3_PREFIX",
    "Optional per-user key prefix; when set, the storage panel only reaches keys under it.",
)
GIT_REMOTE_URL = EnvVar(
    "HYBRIDHUB_GIT_REMOTE_URL",
    "Remote of the user's notebook repository (a local bare repository in the demo).",
)
GITLAB_URL = EnvVar("HYBRIDHUB_GITLAB_URL", "Base URL of the on-prem GitLab; unset means GitLab is not configured.")
GITLAB_TOKEN = EnvVar(
    "HYBRIDHUB_GITLAB_TOKEN",
    "The user's GitLab OAuth access token from the hub login, renewed at server start when it would "
    "expire soon. The server renews it through the hub (with its own `JUPYTERHUB_API_TOKEN`) before it "
    "expires or when GitLab refuses it; the refresh token never leaves the hub.",
    secret=True,
)
GITLAB_TOKEN_EXPIRES_AT = EnvVar(
    "HYBRIDHUB_GITLAB_TOKEN_EXPIRES_AT",
    "When `HYBRIDHUB_GITLAB_TOKEN` expires (Unix seconds, hub clock); the server renews the token a few "
    "minutes before.",
)
GITLAB_CA_BUNDLE = EnvVar("HYBRIDHUB_GITLAB_CA_BUNDLE", "Path to a PEM CA bundle for a self-hosted GitLab.")
PROFILE = EnvVar("HYBRIDHUB_PROFILE", "Slug of the profile the server was started with.")
IDLE_TIMEOUT = EnvVar("HYBRIDHUB_IDLE_TIMEOUT", "The profile's idle timeout in seconds (culling policy).")
MAX_AGE = EnvVar("HYBRIDHUB_MAX_AGE", "The profile's maximum server age in seconds (culling policy).")
CULLER_URL = EnvVar(
    "HYBRIDHUB_CULLER_URL",
    "Base URL of the culler service as the user server reaches it, e.g. "
    "`http://hub:10100/services/hybridhub-culler/`. The server reports its activity there with its own "
    "`JUPYTERHUB_API_TOKEN`; unset: no reports, and the culler judges the server by the hub's last activity.",
)
COST_SERVICE_URL = EnvVar(
    "HYBRIDHUB_COST_SERVICE_URL",
    "Base URL of the cost service as the user server reaches it, e.g. "
    "`http://hub:10101/services/hybridhub-cost/`. The server reports the bytes its transfers moved "
    "there with its own `JUPYTERHUB_API_TOKEN`; unset: no reports, and the cost page shows no transfers of it.",
)
MLFLOW_TRACKING_URI = EnvVar(
    "HYBRIDHUB_MLFLOW_TRACKING_URI",
    "The model registry's MLflow tracking URI for the Models panel and local pipeline runs. Unset with "
    "GitLab configured: the project's GitLab model registry (`<GitLab>/api/v4/projects/<id>/ml/mlflow`, "
    "the user's own GitLab token); `./dev demo` sets it to its embedded MLflow tracking server.",
)
MLFLOW_TRACKING_USERNAME = EnvVar(
    "HYBRIDHUB_MLFLOW_TRACKING_USERNAME",
    "The user's own login on an MLflow tracking server with authentication (MLflow's basic-auth app), "
    "for the Models panel and local pipeline runs (their jobs get it as `MLFLOW_TRACKING_USERNAME`). "
    "`./dev demo` sets it to the hub user's name on its MLflow server.",
)
MLFLOW_TRACKING_PASSWORD = EnvVar(
    "HYBRIDHUB_MLFLOW_TRACKING_PASSWORD",
    "The password of `HYBRIDHUB_MLFLOW_TRACKING_USERNAME` (local jobs get it as `MLFLOW_TRACKING_PASSWORD`, "
    "in their process environment only). It opens only the user's own workspace.",
    secret=True,
)
MLFLOW_WORKSPACE = EnvVar(
    "HYBRIDHUB_MLFLOW_WORKSPACE",
    "The user's workspace on an MLflow server run with `--enable-workspaces` (local jobs get it as "
    "`MLFLOW_WORKSPACE`): her experiments, runs and registered models live there, apart from "
    "everyone else's. `./dev demo` sets `user-<name>`.",
)
PREDICTION_LOG_URI = EnvVar(
    "HYBRIDHUB_PREDICTION_LOG_URI",
    "Where the model servers of the user's local pipeline runs log each prediction: `s3://bucket/prefix` "
    "(objects `<prefix>/<model>/<version>/<YYYY-MM-DD>.jsonl`); unset: no request log. `./dev demo` sets "
    "`s3://home-<user>/predictions`.",
)

ALL: tuple[EnvVar, ...] = (
    S3_ENDPOINT,
    S3_BROWSER_ENDPOINT,
    S3_REGION,
    S3_ACCESS_KEY,
    S3_SECRET_KEY,
    S3_VERIFY_TLS,
    S3_CA_BUNDLE,
    S3_DEFAULT_BUCKET,
    S3_PREFIX,
    GIT_REMOTE_URL,
    GITLAB_URL,
    GITLAB_TOKEN,
    GITLAB_TOKEN_EXPIRES_AT,
    GITLAB_CA_BUNDLE,
    PROFILE,
    IDLE_TIMEOUT,
    MAX_AGE,
    CULLER_URL,
    COST_SERVICE_URL,
    MLFLOW_TRACKING_URI,
    MLFLOW_TRACKING_USERNAME,
    MLFLOW_TRACKING_PASSWORD,
    MLFLOW_WORKSPACE,
    PREDICTION_LOG_URI,
)

SECRET_NAMES = frozenset(v.name for v in ALL if v.secret)
