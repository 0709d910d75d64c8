"""The cluster description file (YAML): node pools, quotas, images, kubelet.

Loaded strictly: an unknown key is an error, so a typo in a pools file cannot
silently fall back to a default.  See docs/kube-standin.md for the format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import yaml

from .quantity import parse, parse_resources

POOL_KEYS = {"name", "vm_size", "vm_family", "mode", "min", "max", "count", "capacity", "allocatable",
             "labels", "taints", "provisioning_seconds", "scale_down_unneeded_seconds", "autoscale",
             "fail_scale_up", "deletion_seconds", "not_ready_seconds"}
TOP_KEYS = {"speed", "quotas", "images", "kubelet", "pools", "history", "autoscaler", "event_ttl_seconds", "region"}
AUTOSCALER_KEYS = {"scan_interval_seconds", "max_node_provision_seconds", "initial_backoff_seconds",
                   "max_backoff_seconds", "backoff_reset_seconds", "cores_total", "memory_total_gib",
                   "delete_delay_after_taint_seconds", "expendable_pods_priority_cutoff",
                   "scale_down_delay_after_add_seconds"}
FAIL_MODES = (None, "quota", "allocation")
KUBELET_KEYS = {"pull_bandwidth", "failing_commands", "start_seconds", "crash_after_seconds",
                "terminate_seconds", "pull_error_seconds", "backoff_initial_seconds", "backoff_max_seconds",
                "local_processes", "local_extra_args"}


class PoolsFileError(ValueError):
    pass


@dataclass
class Pool:
    name: str
    vm_size: str
    vm_family: str
    mode: str  # "System" or "User", as AKS labels it
    min: int
    max: int
    initial: int
    capacity: dict[str, Fraction]
    allocatable: dict[str, Fraction]
    labels: dict[str, str]
    taints: list[dict]
    provisioning_seconds: float
    scale_down_unneeded_seconds: float
    autoscale: bool = True  # a node group of the cluster autoscaler (AKS: --enable-cluster-autoscaler)
    fail_scale_up: str | None = None  # "quota": Azure refuses the resize; "allocation": the VM never comes
    deletion_seconds: float = 60.0  # VMSS instance delete request -> VM and node object gone
    not_ready_seconds: float = 0.0  # the group's size cannot be read (Azure API errors) for this long

    @property
    def vcpus(self) -> int:
        return int(self.capacity.get("cpu", 0))

    def node_labels(self) -> dict[str, str]:
        labels = {
            "agentpool": self.name,
            "kubernetes.azure.com/agentpool": self.name,
            "kubernetes.azure.com/mode": self.mode.lower(),
            "node.kubernetes.io/instance-type": self.vm_size,
            "beta.kubernetes.io/instance-type": self.vm_size,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
        }
        if self.capacity.get("nvidia.com/gpu"):
            labels["kubernetes.azure.com/accelerator"] = "nvidia"
        labels.update(self.labels)
        return labels


@dataclass
class KubeletConfig:
    pull_bandwidth: Fraction = Fraction(50 * 2**20)  # bytes per simulated second
    failing_commands: frozenset = frozenset({"false", "/bin/false", "/usr/bin/false"})
    start_seconds: float = 1.0
    crash_after_seconds: float = 2.0
    terminate_seconds: float = 1.0
    pull_error_seconds: float = 2.0
    backoff_initial_seconds: float = 10.0
    backoff_max_seconds: float = 300.0
    local_processes: bool = False
    local_extra_args: list[str] = field(default_factory=list)


@dataclass
class AutoscalerConfig:
    """cluster-autoscaler flags (defaults: cluster-autoscaler config/flags/flags.go, config/const.go)."""
    scan_interval_seconds: float = 10.0          # --scan-interval
    max_node_provision_seconds: float = 900.0    # --max-node-provision-time 15m
    initial_backoff_seconds: float = 300.0       # --initial-node-group-backoff-duration 5m
    max_backoff_seconds: float = 1800.0          # --max-node-group-backoff-duration 30m
    backoff_reset_seconds: float = 10800.0       # --node-group-backoff-reset-timeout 3h
    cores_total: int = 5000 * 64                 # --cores-total 0:320000
    memory_total_gib: int = 5000 * 64 * 20       # --memory-total 0:6400000
    delete_delay_after_taint_seconds: float = 5.0  # --node-delete-delay-after-taint 5s
    expendable_pods_priority_cutoff: int = -10   # --expendable-pods-priority-cutoff (config/flags/flags.go)
    scale_down_delay_after_add_seconds: float = 600.0  # --scale-down-delay-after-add 10m (AKS's default too)


@dataclass
class ClusterConfig:
    pools: list[Pool]
    quotas: dict[str, int]
    images: dict[str, int]  # normalised image reference -> bytes
    kubelet: KubeletConfig
    speed: float | None = None
    history: int = 10_000
    autoscaler: AutoscalerConfig = field(default_factory=AutoscalerConfig)
    event_ttl_seconds: float = 3600.0  # kube-apiserver --event-ttl (default 1h)
    region: str = "japaneast"

    def pool(self, name: str) -> Pool:
        for p in self.pools:
            if p.name == name:
                return p
        raise KeyError(name)


def normalise_image(ref: str) -> str:
    """``python`` -> ``docker.io/library/python:latest`` (digests kept as they are)."""
    name, tag = ref, ""
    if "@" in ref:
        name, digest = ref.split("@", 1)
        tag = "@" + digest
    else:
        last = ref.rsplit("/", 1)[-1]
        if ":" in last:
            name, t = ref.rsplit(":", 1)
            tag = ":" + t
        else:
            tag = ":latest"
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = "docker.io/library/" + name
    elif "." not in first and ":" not in first and first != "localhost":
        name = "docker.io/" + name
    return name + tag


def _check_keys(mapping: dict, allowed: set, where: str) -> None:
    if not isinstance(mapping, dict):
        raise PoolsFileError(f"{where}: expected a mapping, got {mapping!r}")
    unknown = set(mapping) - allowed
    if unknown:
        raise PoolsFileError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")


def _pool(raw: dict, i: int) -> Pool:
    where = f"pools[{i}]"
    _check_keys(raw, POOL_KEYS, where)
    for key in ("name", "vm_size", "capacity"):
        if key not in raw:
            raise PoolsFileError(f"{where}: missing {key!r}")
    if not re.fullmatch(r"[a-z][a-z0-9]{0,11}", str(raw["name"])):
        raise PoolsFileError(f"{where}: AKS pool names are lowercase letters and digits, starting with a letter, "
                             f"at most 12 characters (got {raw['name']!r})")
    capacity = parse_resources(raw["capacity"])
    allocatable = parse_resources(raw.get("allocatable") or raw["capacity"])
    # what every AKS node has even when the file does not say: the pod limit and an OS disk
    capacity.setdefault("pods", Fraction(110))
    capacity.setdefault("ephemeral-storage", parse("128Gi"))
    for name in ("pods", "ephemeral-storage"):
        allocatable.setdefault(name, capacity[name])
    lo, hi = int(raw.get("min", 0)), int(raw.get("max", raw.get("min", 0)))
    if not 0 <= lo <= hi:
        raise PoolsFileError(f"{where}: need 0 <= min <= max, got min={lo} max={hi}")
    initial = int(raw.get("count", lo))
    if not lo <= initial <= hi:
        raise PoolsFileError(f"{where}: count {initial} outside [min, max]")
    taints = []
    for t in raw.get("taints") or []:
        if isinstance(t, str):  # "sku=gpu:NoSchedule", as `az aks nodepool add --node-taints`
            kv, effect = t.rsplit(":", 1)
            key, _, value = kv.partition("=")
            t = {"key": key, "value": value, "effect": effect} if value else {"key": key, "effect": effect}
        if t.get("effect") not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise PoolsFileError(f"{where}: bad taint effect in {t!r}")
        taints.append(dict(t))
    mode = raw.get("mode", "User")
    if mode not in ("User", "System"):
        raise PoolsFileError(f"{where}: mode must be User or System")
    fail = raw.get("fail_scale_up")
    if fail not in FAIL_MODES:
        raise PoolsFileError(f"{where}: fail_scale_up must be quota or allocation, got {fail!r}")
    return Pool(
        name=str(raw["name"]), vm_size=str(raw["vm_size"]),
        vm_family=str(raw.get("vm_family", raw["vm_size"] + "Family")), mode=mode,
        min=lo, max=hi, initial=initial, capacity=capacity, allocatable=allocatable,
        labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()}, taints=taints,
        provisioning_seconds=float(raw.get("provisioning_seconds", 180)),
        scale_down_unneeded_seconds=float(raw.get("scale_down_unneeded_seconds", 600)),
        autoscale=bool(raw.get("autoscale", mode == "User")), fail_scale_up=fail,
        deletion_seconds=float(raw.get("deletion_seconds", 60)),
        not_ready_seconds=float(raw.get("not_ready_seconds", 0)),
    )


def load_config(data: dict) -> ClusterConfig:
    _check_keys(data, TOP_KEYS, "pools file")
    pools = [_pool(p, i) for i, p in enumerate(data.get("pools") or [])]
    if not pools:
        raise PoolsFileError("pools file: at least one pool is required")
    names = [p.name for p in pools]
    if len(set(names)) != len(names):
        raise PoolsFileError(f"pools file: duplicate pool names in {names}")
    kraw = dict(data.get("kubelet") or {})
    _check_keys(kraw, KUBELET_KEYS, "kubelet")
    kubelet = KubeletConfig()
    for key, value in kraw.items():
        if key == "pull_bandwidth":
            value = parse(value)
        elif key == "failing_commands":
            value = frozenset(value)
        elif key == "local_extra_args":
            value = [str(v) for v in value]
        elif key == "local_processes":
            value = bool(value)
        else:
            value = float(value)
        setattr(kubelet, key, value)
    images = {normalise_image(k): int(parse(v)) for k, v in (data.get("images") or {}).items()}
    quotas = {str(k): int(v) for k, v in (data.get("quotas") or {}).items()}
    araw = dict(data.get("autoscaler") or {})
    _check_keys(araw, AUTOSCALER_KEYS, "autoscaler")
    autoscaler = AutoscalerConfig(**{k: (int(v) if k in ("cores_total", "memory_total_gib", "expendable_pods_priority_cutoff")
                                         else float(v))
                                     for k, v in araw.items()})
    speed = data.get("speed")
    return ClusterConfig(pools=pools, quotas=quotas, images=images, kubelet=kubelet,
                         speed=float(speed) if speed else None, history=int(data.get("history", 10_000)),
                         autoscaler=autoscaler, event_ttl_seconds=float(data.get("event_ttl_seconds", 3600)),
                         region=str(data.get("region", "japaneast")))


def load_file(path: str | Path) -> ClusterConfig:
    with open(path) as f:
        return load_config(yaml.safe_load(f) or {})
