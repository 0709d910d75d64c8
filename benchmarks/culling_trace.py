"""Trace replay for benchmarks/culling.py: what each culling policy costs in GPU node-hours.

A month (30 days, 20 working days, 720 h) of a 10-person team: 6 on the CPU profile, 3 on the
A10 GPU profile, 1 on the large GPU profile. Each working day a person arrives, starts a server,
alternates busy periods (cells running, training) with idle gaps (reading, meetings, lunch) while
the JupyterLab tab stays open, and leaves: half stop their server, some leave the tab open
overnight, the others just close the tab. The trace is seeded, so every run is the same.

Each policy replays the same trace against the Kubernetes stand-in (tests/kube_standin: its
scheduler, its cluster autoscaler with the pools' provisioning and 10-minute scale-down-unneeded
times, its node ledger) on its manual clock, one simulated minute per step: a server start creates
the user's pod, a stop or cull deletes it, and the autoscaler brings nodes up and down.

* ``none``: servers stop only when their user stops them;
* ``z2jh_default``: zero-to-jupyterhub's default culler, every 600 s, 3600 s on the hub's
  ``last_activity`` (proxy traffic: an open tab, or a running kernel);
* ``hybridhub``: :func:`~hybridhub.hub_ext.culler.policy.decide` every 60 s with the reference
  profiles' limits and the activity the server extension would report; warnings are not answered.

A culled user who comes back to work starts the server again (a cold start). The figure is
``waste = GPU node-hours / busy GPU-hours`` and each policy's month cost with the cost model
(the three user pools, the reference's load balancer, public IPs and other costs).
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from fractions import Fraction

import httpx

from hybridhub.hub_ext.cost.model import CostInput, PoolInput, compute
from hybridhub.hub_ext.culler.policy import ActivityReport, Limits, ServerState, ServerView, Settings, decide
from hybridhub.spawner.profiles import ProfileCatalog
from tests.kube_standin import KubeStandIn, load_config
from tests.kube_standin.from_catalog import cluster_from_catalog

DAYS = 30
MINUTES = DAYS * 24 * 60
FIRST_MONDAY = 2  # day 0 is a Saturday: days 2..29 hold 4 full working weeks
TEAM = ["cpu"] * 6 + ["gpu-a10"] * 3 + ["gpu-a10-large"]
BUSY, TAB, PRESENT = 1, 2, 4
POLICIES = ("none", "z2jh_default", "hybridhub")


@dataclass
class Person:
    name: str
    profile: str
    flags: bytearray = field(default_factory=lambda: bytearray(MINUTES))
    arrivals: set[int] = field(default_factory=set)
    stops: set[int] = field(default_factory=set)


def working_days() -> list[int]:
    return [d for d in range(FIRST_MONDAY, DAYS) if (d - FIRST_MONDAY) % 7 < 5]


def mark(person: Person, start: int, end: int, flag: int) -> None:
    for minute in range(max(0, start), min(MINUTES, end)):
        person.flags[minute] |= flag


def make_trace(seed: int = 20) -> list[Person]:
    rng = random.Random(seed)
    team = [Person(f"user{i}", profile) for i, profile in enumerate(TEAM)]
    days = working_days()
    for person in team:
        gpu = person.profile != "cpu"
        for index, day in enumerate(days):
            base = day * 1440
            arrive = base + 9 * 60 + int(rng.gauss(0, 20))
            leave = base + 18 * 60 + int(rng.gauss(0, 30))
            person.arrivals.add(arrive)
            mark(person, arrive, leave, TAB | PRESENT)
            t = arrive + rng.randrange(5, 30)
            lunch = base + 12 * 60 + rng.randrange(0, 30)
            while t < leave - 20:
                length = rng.randrange(40, 150) if gpu else rng.randrange(10, 60)
                end = min(t + length, leave)
                mark(person, t, end, BUSY)
                gap = rng.choice((5, 10, 15, 25, 40, 60)) if gpu else rng.randrange(5, 45)
                t = end + gap
                if end < lunch <= t or lunch <= end < lunch + 60:
                    t = max(t, lunch + 60)
            roll = rng.random()
            if roll < 0.5:
                person.stops.add(leave)
            elif roll < 0.8:  # tab left open overnight (and over the weekend on Fridays)
                following = days[index + 1] * 1440 + 9 * 60 if index + 1 < len(days) else MINUTES
                mark(person, leave, following, TAB)
    return team


@dataclass
class Server:
    started_minute: int
    last_activity: int
    state: ServerState = field(default_factory=ServerState)
    last_busy: int | None = None


class Replay:
    """One policy over the trace, on a fresh stand-in cluster."""

    def __init__(self, policy: str, team: list[Person], catalog: ProfileCatalog) -> None:
        self.policy, self.team, self.catalog = policy, team, catalog
        self.limits = {p.slug: Limits(p.slug, p.idle_timeout_seconds, p.max_age_seconds) for p in catalog.all_profiles()}
        self.pool_of = {p.slug: p.pool for p in catalog.all_profiles()}
        self.servers: dict[str, Server] = {}
        self.epoch = datetime(2026, 11, 7, tzinfo=timezone.utc)  # a Saturday
        self.starts = self.culls = 0

    def at(self, minute: int) -> datetime:
        return self.epoch + timedelta(minutes=minute)

    def pod(self, person: Person) -> dict:
        pool = self.pool_of[person.profile]
        container = {"name": "notebook", "image": f"registry.example.com/hybridhub/singleuser-{'gpu' if pool.has_gpu else 'cpu'}:latest",
                     "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}
        spec = {"containers": [container], "nodeSelector": {"agentpool": pool.name}}
        if pool.has_gpu:
            container["resources"]["limits"] = {"nvidia.com/gpu": "1"}
            spec["tolerations"] = [{"key": t.key, "operator": "Equal", "value": t.value, "effect": t.effect} for t in pool.taints]
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"jupyter-{person.name}"}, "spec": spec}

    async def start(self, person: Person, minute: int) -> None:
        response = await self.http.post("/api/v1/namespaces/default/pods", json=self.pod(person))
        assert response.status_code == 201, response.text
        self.servers[person.name] = Server(minute, minute)
        self.starts += 1

    async def stop(self, person: Person) -> None:
        response = await self.http.delete(f"/api/v1/namespaces/default/pods/jupyter-{person.name}")
        assert response.status_code == 200, response.text
        del self.servers[person.name]

    def should_cull(self, person: Person, server: Server, minute: int) -> bool:
        flags = person.flags[minute]
        if flags & (TAB | BUSY):
            server.last_activity = minute
        if flags & BUSY:
            server.last_busy = minute
        if self.policy == "z2jh_default":
            return minute % 10 == 0 and minute - server.last_activity >= 60
        if self.policy != "hybridhub":
            return False
        view = ServerView(person.name, "", False, True, None, self.at(server.started_minute), None, person.profile)
        report = ActivityReport(busy=bool(flags & BUSY), last_busy=self.at(server.last_busy) if server.last_busy is not None else None)
        decision = decide(view, self.limits[person.profile], report, self.at(minute), server.state, Settings(warn_before_seconds=300))
        if decision.action == "warn" and (server.state.warned_at is None or server.state.warned_kind != decision.kind):
            server.state.warned_at, server.state.warned_kind = self.at(minute), decision.kind
        elif decision.action == "keep":
            server.state = ServerState()
        return decision.action == "cull"

    async def run(self) -> dict:
        config = load_config(cluster_from_catalog(self.catalog))
        standin = KubeStandIn(config, manual_clock=True)
        with tempfile.TemporaryDirectory() as tmp:
            await standin.start(kubeconfig_dir=tmp)
            self.http = httpx.AsyncClient(base_url=standin.url, headers={"Authorization": f"Bearer {standin.token}"}, timeout=30)
            try:
                t0 = standin.clock.now()
                for minute in range(MINUTES):
                    for person in self.team:
                        server = self.servers.get(person.name)
                        flags = person.flags[minute]
                        if server is None and (minute in person.arrivals or flags & BUSY):
                            await self.start(person, minute)
                        elif server is not None and minute in person.stops:
                            await self.stop(person)
                        elif server is not None and self.should_cull(person, server, minute):
                            self.culls += 1
                            await self.stop(person)
                    await standin.clock.advance(60)
                report = standin.cluster.ledger.report(t0 + MINUTES * 60)
            finally:
                await self.http.aclose()
                await standin.stop()
        return report


def busy_gpu_hours(team: list[Person], catalog: ProfileCatalog) -> float:
    gpu = {p.slug for p in catalog.all_profiles() if p.pool.has_gpu}
    return sum(sum(1 for f in p.flags if f & BUSY) for p in team if p.profile in gpu) / 60


def month_cost(report: dict, catalog: ProfileCatalog) -> Fraction:
    pools = []
    for pool in catalog.pool_map().values():
        hours = report["pools"].get(pool.name, {}).get("T_n_hours", {"0": DAYS * 24})
        t_n = [Fraction(0)] * (max(int(n) for n in hours) + 1)
        for n, h in hours.items():
            t_n[int(n)] = Fraction(h).limit_denominator(10**6)
        pools.append(PoolInput(pool.vm_size, Fraction(str(pool.vm_price_per_hour)), tuple(t_n)))
    reference = CostInput(hours=Fraction(DAYS * 24), pools=tuple(pools), lb_price_per_hour=Fraction("3.36"),
                          public_ip_price_per_hour=Fraction("0.67"), public_ips=2, other=Fraction(200))
    return compute(reference).total


def shorter_gpu_timeouts(seconds: int) -> ProfileCatalog:
    """The reference catalog with every GPU profile's idle timeout set to ``seconds``."""
    catalog = ProfileCatalog()
    pools = catalog.pool_map()
    catalog.profiles = [
        {**p, "idle_timeout_seconds": seconds} if pools[p["pool"]].has_gpu else p for p in catalog.profiles
    ]
    return catalog


async def replay_all(seed: int = 20) -> dict:
    catalog = ProfileCatalog()
    team = make_trace(seed)
    busy = busy_gpu_hours(team, catalog)
    gpu_pools = [p.name for p in catalog.pool_map().values() if p.has_gpu]
    result: dict = {"days": DAYS, "working_days": len(working_days()), "team": len(team),
                    "busy_gpu_hours": round(busy, 2)}
    for policy in POLICIES:
        replay = Replay(policy, team, catalog)
        report = await replay.run()
        gpu_node_hours = sum(report["pools"].get(p, {}).get("node_hours", 0.0) for p in gpu_pools)
        result[f"gpu_node_hours_{policy}"] = round(gpu_node_hours, 2)
        result[f"waste_{policy}"] = round(gpu_node_hours / busy, 3)
        result[f"month_cost_yen_{policy}"] = round(float(month_cost(report, catalog)), 1)
        result[f"server_starts_{policy}"] = replay.starts
        result[f"culls_{policy}"] = replay.culls
    # sensitivity, for choosing profile timeouts: the same policy with 10-minute GPU timeouts
    short = shorter_gpu_timeouts(600)
    replay = Replay("hybridhub", team, short)
    report = await replay.run()
    result["waste_hybridhub_gpu_idle_600s"] = round(
        sum(report["pools"].get(p, {}).get("node_hours", 0.0) for p in gpu_pools) / busy, 3)
    result["server_starts_hybridhub_gpu_idle_600s"] = replay.starts
    return result
