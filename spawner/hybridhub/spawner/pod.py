"""What a profile means for a pod: KubeSpawner trait overrides and KubeSpawner's profile_list.

Pure functions over :mod:`.profiles`, so the helm values and tests can call them too.
"""

from __future__ import annotations

from .labels import POOL_LABEL as POOL_LABEL_ON_POD
from .labels import PROFILE_LABEL
from .profiles import GPU_RESOURCE, POOL_LABEL, Profile, ProfileCatalog

PRICE_ANNOTATION = "hybridhub/price-per-hour"


def profile_overrides(profile: Profile) -> dict:
    """KubeSpawner trait values for one profile (keys are KubeSpawner trait names)."""
    overrides = {
        "image": profile.image,
        "cpu_guarantee": profile.cpu_request,
        "cpu_limit": profile.cpu_limit,
        "mem_guarantee": profile.memory_request,
        "mem_limit": profile.memory_limit,
        "node_selector": {POOL_LABEL: profile.pool.name},
        "tolerations": [
            {"key": t.key, "operator": "Equal", "value": t.value, "effect": t.effect} for t in profile.pool.taints
        ],
        "extra_labels": {PROFILE_LABEL: profile.slug, POOL_LABEL_ON_POD: profile.pool.name},
        "extra_annotations": {PRICE_ANNOTATION: f"{profile.price_per_hour:g}"},
    }
    if profile.gpus:
        overrides["extra_resource_guarantees"] = {GPU_RESOURCE: str(profile.gpus)}
        overrides["extra_resource_limits"] = {GPU_RESOURCE: str(profile.gpus)}
    return overrides


def profile_list(catalog: ProfileCatalog, groups: set[str], is_admin: bool, language: str = "en") -> list[dict]:
    """KubeSpawner's ``profile_list`` for one user: only the profiles they may use."""
    return [
        {
            "slug": p.slug,
            "display_name": p.name_in(language),
            "description": p.description_in(language),
            "default": p.default,
            "kubespawner_override": profile_overrides(p),
        }
        for p in catalog.for_user(groups, is_admin)
    ]
