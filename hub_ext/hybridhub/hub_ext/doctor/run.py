"""The checks in report order, and running them: a check that crashes is reported, not fatal."""

from __future__ import annotations

from . import (checks_hub, checks_images, checks_kube, checks_live_gitlab, checks_live_store, checks_pools,
               checks_pullers, checks_runners, checks_services, checks_users)
from .check import FAIL, Check, Context, Result

CHECKS: list[tuple[str, Check]] = [
    ("profile-list", checks_hub.profile_list_is_catalog),
    ("authenticator", checks_hub.authenticator_hands_token_over),
    ("services", checks_services.services_share_catalog),
    ("storage-endpoint", checks_users.storage_endpoint),
    ("storage-keys", checks_users.storage_keys_file),
    ("gitlab-url", checks_users.gitlab_url),
    ("culler-url", checks_users.culler_url),
    ("budget", checks_services.budget_and_prices),
    ("timezone", checks_services.time_zone),
]
# the ones that contact the systems (each bounded by a short timeout); --offline leaves them out
LIVE_CHECKS: list[tuple[str, Check]] = [
    ("store-answers", checks_live_store.store_answers),
    ("store-keys-accepted", checks_live_store.store_keys_accepted),
    ("store-bucket", checks_live_store.bucket_versioning),
    ("store-cors", checks_live_store.bucket_cors),
    ("clock", checks_live_store.clock_agrees),
    ("gitlab-answers", checks_live_gitlab.gitlab_answers),
    ("gitlab-oauth", checks_live_gitlab.gitlab_oauth),
    ("kube-access", checks_kube.kube_access),
    ("pools", checks_pools.pools),
    ("gpu-nodes", checks_pools.gpu_nodes),
    ("images", checks_images.images),
    ("image-pullers", checks_pullers.image_pullers),
    ("runners", checks_runners.runners),
]


def run_checks(context: Context, live: bool = True) -> list[Result]:
    results = []
    for name, check in CHECKS + (LIVE_CHECKS if live else []):
        try:
            results.append(check(context))
        except Exception as e:  # noqa: BLE001 - one broken check must not hide the others
            results.append(Result(name, FAIL, "saw_check_error", {"error": type(e).__name__}, "fix_check_error"))
    return results
