"""Fixtures for the cost service: the Kubernetes stand-in on a manual clock, the service in-process."""

from __future__ import annotations

import asyncio

import pytest
from traitlets.config import Config

from hybridhub.hub_ext.cost.service import CostService
from tests.kube.conftest import api_client_for, cluster_config
from tests.kube_standin import KubeStandIn

# The catalog the service prices from: the stand-in's pools (tests/kube/conftest.py TEST_CLUSTER)
POOLS = [
    {"name": "cpu", "vm_size": "Standard_B2s", "vm_price_per_hour": 11.52},
    {"name": "gpu", "vm_size": "Standard_NV6ads_A10_v5", "vm_price_per_hour": 74.7, "gpus_per_node": 1,
     "taints": ["sku=gpu:NoSchedule"]},
    {"name": "gpularge", "vm_size": "Standard_NV18ads_A10_v5", "vm_price_per_hour": 263.61, "gpus_per_node": 1,
     "taints": ["sku=gpu:NoSchedule"]},
]


def _profile(slug, pool, cpu, gpus=0):
    return {"slug": slug, "display_name": {"en": slug}, "pool": pool, "image": "example.com/notebook:1",
            "cpu_request": cpu, "cpu_limit": cpu, "memory_request": "256M", "memory_limit": "256M", "gpus": gpus,
            "idle_timeout_seconds": 3600, "max_age_seconds": 86400}


PROFILES = [_profile("cpu", "cpu", 0.5), _profile("gpu-a10", "gpu", 1, 1), _profile("gpu-a10-large", "gpularge", 1, 1)]
SYSTEM_PRICE = 13.3


def service_config(state_path) -> Config:
    return Config({
        "ProfileCatalog": {"pools": POOLS, "profiles": PROFILES},
        "CostService": {"state_path": str(state_path), "budget": 100000.0, "lb_price_per_hour": 3.36,
                        "public_ip_price_per_hour": 0.67, "public_ips": 2, "other_per_month": 200.0,
                        "namespace": "default", "api_token": "unused",
                        "extra_pools": {"system": {"vm_size": "Standard_D2s_v5", "vm_price_per_hour": SYSTEM_PRICE}}},
    })


@pytest.fixture
async def standin(tmp_path):
    s = KubeStandIn(cluster_config(), manual_clock=True)
    await s.start(kubeconfig_dir=str(tmp_path))
    try:
        yield s
    finally:
        await s.stop()


class RunningService:
    """A CostService watching the stand-in, on the stand-in's simulated clock."""

    def __init__(self, standin, state_path):
        self.standin = standin
        self.svc = CostService(config=service_config(state_path))
        self.svc.initialize([])
        self.svc.clock = lambda: int(standin.clock.now() * 1_000_000)
        self.api = api_client_for(standin)
        self.watchers = []
        self.stopped = False

    async def start(self):
        self.watchers = await self.svc.start_watching(self.api)
        return self

    async def caught_up(self):
        """Until the watches have delivered what the stand-in did (no change for a few polls)."""
        stable, last = 0, None
        while stable < 4:
            await asyncio.sleep(0.01)
            now = self.svc.feed.changes
            stable = stable + 1 if now == last else 0
            last = now

    async def stop(self):
        if self.stopped:
            return
        self.stopped = True
        await self.svc.stop()
        await self.api.close()
