"""Profiles and node pools: the one source of truth for what users can start and what it costs.

Admins configure them once (``c.ProfileCatalog.pools`` and ``c.ProfileCatalog.profiles``);
the spawners, the culler, the cost service and the helm values all read this catalog.
The defaults reproduce the reference deployment: a CPU pool of Standard_B2s, a 1×A10 pool of
Standard_NV6ads_A10_v5 and a larger one of Standard_NV18ads_A10_v5, each 0..3 nodes.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from typing import Any

from traitlets import List, TraitError, default, validate
from traitlets.config import LoggingConfigurable

# The hub hands its own catalog to the services it starts (hub_ext/handover.py) in this variable,
# so the culler and the cost service use exactly the hub's pools, profiles and prices.
CATALOG_ENV = "HYBRIDHUB_PROFILE_CATALOG"
POOL_LABEL = "agentpool"  # AKS labels every node with its pool name under this key
GPU_RESOURCE = "nvidia.com/gpu"


class ProfileError(ValueError):
    """A pool or profile definition is invalid; the message names the entry and field."""


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str  # NoSchedule, PreferNoSchedule or NoExecute

    def __str__(self) -> str:
        return f"{self.key}={self.value}:{self.effect}"


@dataclass(frozen=True)
class Pool:
    name: str
    vm_size: str
    vm_price_per_hour: float
    min_nodes: int = 0
    max_nodes: int = 3
    gpus_per_node: int = 0
    taints: tuple[Taint, ...] = ()
    usual_cold_start_seconds: int = 240  # first ETA, before any start has been measured
    # how long the cluster autoscaler keeps an empty node: AKS's profile setting
    # scale-down-unneeded-time, which the deployment guide sets to 5 minutes (AKS default: 10)
    scale_down_unneeded_seconds: int = 300

    @property
    def has_gpu(self) -> bool:
        return self.gpus_per_node > 0


@dataclass(frozen=True)
class Profile:
    slug: str
    display_name: dict[str, str]  # language -> text; "en" is required
    description: dict[str, str]
    pool: Pool
    image: str
    cpu_request: float
    cpu_limit: float
    memory_request: str
    memory_limit: str
    gpus: int
    idle_timeout_seconds: int
    max_age_seconds: int
    price_per_hour: float
    allowed_groups: tuple[str, ...] = ()  # empty: everyone
    default: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def name_in(self, language: str) -> str:
        return self.display_name.get(language) or self.display_name["en"]

    def description_in(self, language: str) -> str:
        return self.description.get(language) or self.description.get("en", "")

    def allows(self, groups: set[str], is_admin: bool = False) -> bool:
        return is_admin or not self.allowed_groups or bool(groups & set(self.allowed_groups))


DEFAULT_POOLS: list[dict] = [
    {
        "name": "cpu",
        "vm_size": "Standard_B2s",
        "vm_price_per_hour": 11.52,
        "usual_cold_start_seconds": 180,
    },
    {
        "name": "gpua10",
        "vm_size": "Standard_NV6ads_A10_v5",
        "vm_price_per_hour": 74.7,
        "gpus_per_node": 1,
        "taints": ["sku=gpu:NoSchedule"],
        "usual_cold_start_seconds": 420,
    },
    {
        "name": "gpua10large",
        "vm_size": "Standard_NV18ads_A10_v5",
        "vm_price_per_hour": 263.61,
        "gpus_per_node": 1,
        "taints": ["sku=gpu:NoSchedule"],
        "usual_cold_start_seconds": 480,
    },
]

DEFAULT_PROFILES: list[dict] = [
    {
        "slug": "cpu",
        "display_name": {"en": "CPU notebook", "ja": "CPU ノートブック"},
        "description": {
            "en": "2 vCPU burstable node: data preparation, small models.",
            "ja": "2 vCPU のバースト可能ノード。データ準備や小さなモデル向け。",
        },
        "pool": "cpu",
        "image": "registry.example.com/hybridhub/singleuser-cpu:latest",
        "cpu_request": 0.5,
        "cpu_limit": 2,
        "memory_request": "1G",
        "memory_limit": "2G",
        "idle_timeout_seconds": 3600,
        "max_age_seconds": 12 * 3600,
        "default": True,
    },
    {
        "slug": "gpu-a10",
        "display_name": {"en": "GPU notebook (A10)", "ja": "GPU ノートブック（A10）"},
        "description": {
            "en": "1 NVIDIA A10 GPU, 6 vCPU: training and fine-tuning.",
            "ja": "NVIDIA A10 GPU 1 基、6 vCPU。学習やファインチューニング向け。",
        },
        "pool": "gpua10",
        "image": "registry.example.com/hybridhub/singleuser-gpu:latest",
        "cpu_request": 4,
        "cpu_limit": 6,
        "memory_request": "32G",
        "memory_limit": "48G",
        "gpus": 1,
        # 8 minutes: with the 5-minute scale-down this keeps GPU node-hours within 1.15x of
        # busy GPU-hours on the month trace (benchmarks/culling.py); busy kernels, terminals,
        # transfers and GPU use count as activity, so only truly idle servers are stopped
        "idle_timeout_seconds": 480,
        "max_age_seconds": 8 * 3600,
    },
    {
        "slug": "gpu-a10-large",
        "display_name": {"en": "Large GPU notebook (A10, 18 vCPU)", "ja": "大型 GPU ノートブック（A10、18 vCPU）"},
        "description": {
            "en": "1 NVIDIA A10 GPU, 18 vCPU, 220 GB memory: large datasets.",
            "ja": "NVIDIA A10 GPU 1 基、18 vCPU、メモリ 220 GB。大きなデータセット向け。",
        },
        "pool": "gpua10large",
        "image": "registry.example.com/hybridhub/singleuser-gpu:latest",
        "cpu_request": 14,
        "cpu_limit": 18,
        "memory_request": "160G",
        "memory_limit": "200G",
        "gpus": 1,
        "idle_timeout_seconds": 420,
        "max_age_seconds": 4 * 3600,
    },
]

_POOL_KEYS = {"name", "vm_size", "vm_price_per_hour", "min_nodes", "max_nodes", "gpus_per_node", "taints",
              "usual_cold_start_seconds", "scale_down_unneeded_seconds"}
_PROFILE_KEYS = {"slug", "display_name", "description", "pool", "image", "cpu_request", "cpu_limit",
                 "memory_request", "memory_limit", "gpus", "idle_timeout_seconds", "max_age_seconds",
                 "price_per_hour", "allowed_groups", "default", "extra"}
_TAINT_EFFECTS = {"NoSchedule", "PreferNoSchedule", "NoExecute"}


def _require(entry: dict, key: str, where: str) -> Any:
    if key not in entry:
        raise ProfileError(f"{where}: missing '{key}'")
    return entry[key]


def _check_keys(entry: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise ProfileError(f"{where}: unknown field(s) {', '.join(unknown)}")


def parse_taint(text: str, where: str) -> Taint:
    try:
        key_value, effect = text.rsplit(":", 1)
        key, value = key_value.split("=", 1)
    except ValueError:
        raise ProfileError(f"{where}: taint '{text}' is not key=value:Effect") from None
    if effect not in _TAINT_EFFECTS:
        raise ProfileError(f"{where}: taint effect '{effect}' is not one of {sorted(_TAINT_EFFECTS)}")
    return Taint(key, value, effect)


def parse_pool(entry: dict, index: int) -> Pool:
    where = f"pools[{index}]"
    if not isinstance(entry, dict):
        raise ProfileError(f"{where}: must be a mapping")
    _check_keys(entry, _POOL_KEYS, where)
    name = _require(entry, "name", where)
    if not (isinstance(name, str) and name.isalnum() and name.islower() and len(name) <= 12):
        raise ProfileError(f"{where}.name: '{name}' must be lowercase letters and digits, at most 12 (an AKS pool name)")
    pool = Pool(
        name=name,
        vm_size=str(_require(entry, "vm_size", where)),
        vm_price_per_hour=float(_require(entry, "vm_price_per_hour", where)),
        min_nodes=int(entry.get("min_nodes", 0)),
        max_nodes=int(entry.get("max_nodes", 3)),
        gpus_per_node=int(entry.get("gpus_per_node", 0)),
        taints=tuple(parse_taint(t, f"{where}.taints") for t in entry.get("taints", [])),
        usual_cold_start_seconds=int(entry.get("usual_cold_start_seconds", 240)),
        scale_down_unneeded_seconds=int(entry.get("scale_down_unneeded_seconds", 300)),
    )
    if pool.vm_price_per_hour < 0 or not 0 <= pool.min_nodes <= pool.max_nodes:
        raise ProfileError(f"{where}: need vm_price_per_hour >= 0 and 0 <= min_nodes <= max_nodes")
    return pool


def parse_profile(entry: dict, index: int, pools: dict[str, Pool]) -> Profile:
    where = f"profiles[{index}]"
    if not isinstance(entry, dict):
        raise ProfileError(f"{where}: must be a mapping")
    _check_keys(entry, _PROFILE_KEYS, where)
    slug = _require(entry, "slug", where)
    if not (isinstance(slug, str) and slug and slug.replace("-", "").isalnum() and slug.islower()):
        raise ProfileError(f"{where}.slug: '{slug}' must be lowercase letters, digits and '-'")
    pool_name = _require(entry, "pool", where)
    if pool_name not in pools:
        raise ProfileError(f"{where}.pool: no pool named '{pool_name}' (pools: {', '.join(pools)})")
    pool = pools[pool_name]
    display_name = _require(entry, "display_name", where)
    if not isinstance(display_name, dict) or "en" not in display_name:
        raise ProfileError(f"{where}.display_name: must map languages to text and include 'en'")
    gpus = int(entry.get("gpus", 0))
    if gpus > pool.gpus_per_node:
        raise ProfileError(f"{where}.gpus: {gpus} GPU(s) requested but pool '{pool.name}' nodes have {pool.gpus_per_node}")
    profile = Profile(
        slug=slug,
        display_name=dict(display_name),
        description=dict(entry.get("description", {})),
        pool=pool,
        image=str(_require(entry, "image", where)),
        cpu_request=float(_require(entry, "cpu_request", where)),
        cpu_limit=float(_require(entry, "cpu_limit", where)),
        memory_request=str(_require(entry, "memory_request", where)),
        memory_limit=str(_require(entry, "memory_limit", where)),
        gpus=gpus,
        idle_timeout_seconds=int(_require(entry, "idle_timeout_seconds", where)),
        max_age_seconds=int(_require(entry, "max_age_seconds", where)),
        price_per_hour=float(entry.get("price_per_hour", pool.vm_price_per_hour)),
        allowed_groups=tuple(entry.get("allowed_groups", ())),
        default=bool(entry.get("default", False)),
        extra=dict(entry.get("extra", {})),
    )
    if profile.cpu_request > profile.cpu_limit:
        raise ProfileError(f"{where}: cpu_request {profile.cpu_request} exceeds cpu_limit {profile.cpu_limit}")
    if profile.idle_timeout_seconds <= 0 or profile.max_age_seconds <= 0:
        raise ProfileError(f"{where}: idle_timeout_seconds and max_age_seconds must be positive")
    return profile


class ProfileCatalog(LoggingConfigurable):
    """The admin-configured pools and profiles (``c.ProfileCatalog.*``)."""

    pools = List(
        config=True,
        help="""Kubernetes node pools that user servers run on. Each entry:
        name (the AKS pool name; nodes carry the label agentpool=<name>), vm_size,
        vm_price_per_hour, min_nodes, max_nodes, gpus_per_node, taints (["key=value:Effect"]),
        usual_cold_start_seconds (the ETA shown before any start has been measured),
        scale_down_unneeded_seconds (the autoscaler's scale-down-unneeded-time; default 300).

        Example::

            c.ProfileCatalog.pools = [{"name": "cpu", "vm_size": "Standard_B2s", "vm_price_per_hour": 11.52}]
        """,
    )
    profiles = List(
        config=True,
        help="""What users can start. Each entry: slug, display_name ({"en": ..., "ja": ...}),
        description, pool (a pool name), image, cpu_request, cpu_limit, memory_request,
        memory_limit, gpus, idle_timeout_seconds, max_age_seconds, price_per_hour (defaults to
        the pool's VM price), allowed_groups (empty: everyone), default.
        """,
    )

    @default("pools")
    def _default_pools(self):
        # a service started by the hub gets the hub's catalog; otherwise the reference one
        return copy.deepcopy(handed_over().get("pools", DEFAULT_POOLS))

    @default("profiles")
    def _default_profiles(self):
        return copy.deepcopy(handed_over().get("profiles", DEFAULT_PROFILES))

    def as_json(self) -> str:
        """The catalog as the hub hands it to its services (``HYBRIDHUB_PROFILE_CATALOG``)."""
        return json.dumps({"pools": self.pools, "profiles": self.profiles}, ensure_ascii=False)

    @validate("pools")
    def _validate_pools(self, proposal):
        try:
            parsed = [parse_pool(p, i) for i, p in enumerate(proposal["value"])]
        except ProfileError as e:
            raise TraitError(str(e)) from None
        names = [p.name for p in parsed]
        if len(set(names)) != len(names):
            raise TraitError("pools: pool names must be unique")
        return proposal["value"]

    @validate("profiles")
    def _validate_profiles(self, proposal):
        pools = {p.name: p for p in (parse_pool(e, i) for i, e in enumerate(self.pools))}
        try:
            parsed = [parse_profile(p, i, pools) for i, p in enumerate(proposal["value"])]
        except ProfileError as e:
            raise TraitError(str(e)) from None
        slugs = [p.slug for p in parsed]
        if len(set(slugs)) != len(slugs):
            raise TraitError("profiles: slugs must be unique")
        if not parsed:
            raise TraitError("profiles: at least one profile is needed")
        return proposal["value"]

    def pool_map(self) -> dict[str, Pool]:
        return {p.name: p for p in (parse_pool(e, i) for i, e in enumerate(self.pools))}

    def all_profiles(self) -> list[Profile]:
        pools = self.pool_map()
        return [parse_profile(e, i, pools) for i, e in enumerate(self.profiles)]

    def get(self, slug: str) -> Profile | None:
        return next((p for p in self.all_profiles() if p.slug == slug), None)

    def default_profile(self) -> Profile:
        profiles = self.all_profiles()
        return next((p for p in profiles if p.default), profiles[0])

    def for_user(self, groups: set[str], is_admin: bool = False) -> list[Profile]:
        return [p for p in self.all_profiles() if p.allows(groups, is_admin)]


def handed_over() -> dict:
    """The hub's catalog when this process is one of its services, else ``{}``."""
    text = os.environ.get(CATALOG_ENV)
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        raise ProfileError(f"{CATALOG_ENV} is not JSON") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{CATALOG_ENV} must be an object with pools and profiles")
    return data
