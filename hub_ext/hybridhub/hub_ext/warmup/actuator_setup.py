"""A :class:`.actuator_runner.WarmupRunner` from the hub's configuration, for whichever service runs it.

The caller brings what it already has: the Kubernetes ``ApiClient`` (as the cost service builds it,
``CostService.kube_api``), the cost model's node prices per hour and a function returning the cost
service's current :class:`.budget_stop.BudgetView`.  Everything else comes from ``c.WarmupPolicy``
and the profile catalog (one source of truth for pools, cold-start times and scale-down times).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Callable, Mapping

from hybridhub.spawner.coldstarts import ColdStartHistory
from hybridhub.spawner.profiles import ProfileCatalog

from .actuator import KubePlaceholders
from .actuator_log import WarmupLog
from .actuator_runner import WarmupRunner
from .budget_stop import BudgetView
from .manifest import PLACEHOLDER_PRIORITY, priority_class
from .settings import WarmupPolicy, lead_seconds


def runner_for(policy: WarmupPolicy, catalog: ProfileCatalog, coldstarts: ColdStartHistory, api_client,
               namespace: str, prices: Mapping[str, Fraction], budget: Callable[[], BudgetView]) -> WarmupRunner:
    pools = {name: pool for name, pool in catalog.pool_map().items() if pool.has_gpu}
    return WarmupRunner(
        KubePlaceholders(api_client), WarmupLog(policy.log_file), namespace,
        priority_class(policy.priority_class, PLACEHOLDER_PRIORITY), prices, lead_seconds(pools, coldstarts),
        {name: pool.scale_down_unneeded_seconds for name, pool in pools.items()}, budget, policy.node_join_factor)
