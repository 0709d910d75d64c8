"""Benchmark: GPU start waits and cost of scale-from-zero, always-on placeholders and the warm-up policy.

The same usage trace (benchmarks/warmup_trace.py: its format, and the default seeded month of a
small Tokyo team of GPU users) is replayed three ways, each on a fresh Kubernetes stand-in
(tests/kube_standin: scheduler with PriorityClass and preemption, cluster autoscaler with the
pools' provisioning times from the profile catalog and the deployment guide's scale-down profile
(an empty node goes after 5 min, never within 5 min of a scale-up anywhere), DaemonSets, kubelet
image pulls at 40 MiB/s one at a time per node, node ledger) on its manual clock. A session's start
creates the user's pod (the profile's requests, node selector and tolerations, default priority 0,
its image named as the hub names it on the site) and its end deletes it.

(b) and (c) run with the image pullers as deployed: zero-to-jupyterhub's continuous image puller,
rendered from the chart's values merged with helm-values/jupyterhub-aks.yaml
(tests/deploy/image_puller.py; the chart's files are read from ../shared/z2jh-4.4.0), which runs on
the CPU pool only, and the GPU pools' own puller (helm-values/gpu-image-puller.yaml, its image named
as the hub names it on the site), so each new GPU node pulls the GPU image (7 GiB) as soon as it
joins, and nothing else first. (a) is the deployment as it was before: no puller.
``--no-prepull`` runs (b) and (c) without them too.

* ``a`` scale from zero (today, as shipped before the puller): nothing else;
* ``b`` zero-to-jupyterhub-style user placeholders in working hours: ONE placeholder pod per GPU
  pool (priority class -10, the chart's ``userPlaceholderPriority``) from 08:00 to 19:00 on
  working days; like the chart's StatefulSet, a preempted placeholder is created again (so it
  asks for a new node for the next user);
* ``c`` the warm-up policy: every evening at 20:00 (and at the start) the REAL policy code
  (:func:`hybridhub.hub_ext.warmup.schedule.next_plan` and ``placeholders_for``, default
  ``c.WarmupPolicy`` with the site's zone and holidays) plans the next working day from the start
  history recorded so far (``record_start`` on every GPU start of the replay; cold starts' waits
  into the cold-start history that gives the lead), and the REAL runner
  (:class:`hybridhub.hub_ext.warmup.actuator_runner.WarmupRunner`, built by ``runner_for`` with the
  official kubernetes_asyncio client, as the cost service builds it) carries the plan out on the
  stand-in, looking every ``tick_seconds`` (15 s) while a placeholder of the plan is waiting to be
  judged: it creates each placeholder at its window's start (none when its people all have a server
  already), releases it beside a user's running pod or at the window's end, and logs each one's
  outcome (``runner`` in the JSON: used / wasted / already_here / never_joined / budget_stop for the
  measured days). A preempted placeholder is not created again. A user's start first does what HybridKubeSpawner does just
  before it creates the pod (``booting_placeholder``, spawner/warm.py): it deletes the pool's oldest
  placeholder still waiting for its node, so the node on its way is the user's and no second node
  is asked for. Warm-on-intent is not modelled: a trace has no time at which the profile was chosen
  on the spawn form, and that comes seconds before the form is submitted, so it would take those
  seconds off a cold start (604 s) and bring no start under the p90 limit. The budget is not
  binding (1,000,000 yen).

Per mode: GPU start waits (spawn request to the pod's Ready condition), median and p90; GPU
node-hours; the month cost (cost model: node prices of the catalog, the reference's load
balancer, public IPs and other costs); warm-ups wasted (windows none of whose users started in
them), and for (c) where each start fell against its user's window. The first ``--lead-in-days``
(default 14) are replayed but not measured, so the policy starts the month with the history it
would have in production. Sensitivity runs repeat (c) with ``max_warm_nodes = 1`` (``c_nodes1``,
the default before each likely start got its own node), with ``open_percentile = 10``
(``c_open10``: each window opens ``lead`` before the 10th percentile of the person's near starts
instead of their median; it ends as before) and with ``open_percentile = 10, of_days = 20``
(``c_p90``: the same over the last 20 working days, the cheapest setting tried that meets the p90
goal; not in --quick, whose week of history has no 20 days).

``c_hindsight`` is a reference, not a policy: one fixed window per person (the same minutes every
working day, or none), chosen KNOWING the measured month so that the p90 goal holds at the least
warm-up cost, replayed through the same runner and cost model; what it bounds, and when, is said in
benchmarks/warmup_hindsight.py.

Goal (issue 21): median <= 0.2x and p90 <= 0.5x of (a), cost <= 1.05x of (a), cheaper than (b);
``p90_and_cost_goals_reachable`` in the JSON says whether the hindsight reference meets the p90 and cost goals.
On the default trace (seed 21) the defaults meet the median, cost and (b) goals and miss the p90
goal; the settings that meet the p90 goal cost more than 1.05x, and so does the hindsight
reference. The trace is not tuned to meet the goals. Full run, (b) and (c) with the image pullers:

    run                      cold/74  median  p90    median/a  p90/a  cost/a  cost/b
    (a) scale from zero         74     604 s  664 s    -        -      -       -
    (b) placeholders 08-19       1       5 s    5 s   0.008    0.008   2.09     -
    (c) default policy          28      60 s  604 s   0.099    0.91    1.042   0.50
    (c) max_warm_nodes=1        38     240 s  604 s   0.397    0.91    1.038   0.50
    (c) open_percentile=10      11       5 s  420 s   0.008    0.63    1.067   0.51
    (c) p10 of 20 days           6       5 s  120 s   0.008    0.18    1.071   0.51
    hindsight fixed windows     12       5 s  304 s   0.008    0.46    1.058   0.51

With the chart's puller alone pulling both images on every node (as deployed before the GPU pools
had their own), the default's median was 103 s (0.171): a warm node pulled the CPU image first.

The runner's own outcomes for the default's 80 windows: 56 used, 8 wasted, 16 already_here (the
person came before the window opened: no node was asked for).

(a) waits 420 s for the node, 179 s for the 7 GiB image and 5 s for the container. With the GPU
pools' puller a warm node has the image about 180 s after it joins. Each likely start has its
own node, asked for ``lead`` before the person's median start; a start earlier than that waits
for the rest of the boot (27 of 74 with the defaults, 10 with open_percentile = 10). A window whose person came before it opened
gets no node: without that rule the default cost 1.050x, and those nodes sometimes served someone
else by chance (median 73 s). Replayed with the runner emulated (create at the window's start,
delete at its end) instead of the real one, the figures were the same but for open_percentile=10's
p90 (604 s): the real runner's 15 s looks release and count differently, which is why it is used.

Why the p90 goal and the cost goal are not both met on this trace. The settings tried that meet the
p90 goal (full runs: open_percentile 0 or 5 with of_days 15 or 20, or 10 with of_days 20; grace 20 or 30)
cost 1.069-1.083x; every one that costs less misses it (of_days 10 with open_percentile 0, 5 or
10: 1.078x, p90 600 s; open_percentile 10 over 5 days: 1.067x, 420 s; the defaults). The
hindsight reference, which knows each person's starts and absences of the month, still pays
1.058x for the p90 goal (it took 2 tries: its model does not see one person's pod taking another's
warm node, and the first choice left 9 starts over the limit where 7 are allowed). Why: p90 <=
332 s leaves at most 7 of the 74 starts waiting longer, and a start waits <= 332 s only when its
node was asked for at least ~330 s before it comes; a person's start varies (sigma 12 min in the
default trace), so every covered start is paid well before it comes, and the days a person is
away (10-25 %) pay a whole window plus the autoscaler's 5 min scale-down. Only knowing on the day
who will come could close the gap; the trace has nothing that tells it (no earlier CPU session,
no login), and warm on intent comes only seconds before the start (see above).
--quick (a week, 2 users): (a) 604/604 s, (c) 32/604 s (ratios 0.054 / 1.0), cost 1.04x of (a);
hindsight 94/244 s at 1.025x.

    .venv/bin/python benchmarks/warmup.py                 # the default month (4 users): about 11 minutes
    .venv/bin/python benchmarks/warmup.py --quick         # a week, 2 users: under a minute
    .venv/bin/python benchmarks/warmup.py --trace F.jsonl # another trace (see warmup_trace.py)
    .venv/bin/python benchmarks/warmup.py --write-trace F.jsonl  # write the default trace and exit

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import json
import logging
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # the Kubernetes stand-in lives in tests/
sys.path.insert(0, str(Path(__file__).resolve().parent))

from hybridhub.hub_ext.cost.model import CostInput, PoolInput, compute  # noqa: E402
from hybridhub.hub_ext.warmup.actuator_setup import runner_for  # noqa: E402
from hybridhub.hub_ext.warmup.budget_stop import BudgetView  # noqa: E402
from hybridhub.hub_ext.warmup.history import StartHistory, record_start  # noqa: E402
from hybridhub.hub_ext.warmup.manifest import (PAUSE_IMAGE, USERNAME_ANNOTATION, placeholder_pod,  # noqa: E402
                                               priority_class, window_id)
from hybridhub.hub_ext.warmup.schedule import next_plan, placeholders_for  # noqa: E402
from hybridhub.hub_ext.warmup.settings import WarmupPolicy  # noqa: E402
from hybridhub.spawner.coldstarts import ColdStartHistory  # noqa: E402
from hybridhub.spawner.labels import POOL_LABEL, WARMUP_LABEL  # noqa: E402
from hybridhub.spawner.pod import profile_overrides  # noqa: E402
from hybridhub.spawner.profiles import GPU_RESOURCE, ProfileCatalog  # noqa: E402
from hybridhub.spawner.warm import booting_placeholder  # noqa: E402
from tests.kube.conftest import api_client_for  # noqa: E402
from tests.kube_standin import KubeStandIn, load_config  # noqa: E402
from tests.kube_standin.from_catalog import IMAGE_SIZES, cluster_from_catalog  # noqa: E402
from tests.deploy.image_puller import continuous_puller, gpu_image_puller  # noqa: E402
from tests.deploy.z2jh import VALUE_SETS, chart_values  # noqa: E402
from warmup_hindsight import FixedWindow, Model, allowed_over_limit, arrivals_by_user, best_windows  # noqa: E402
from warmup_trace import (FIRST_DAY, JP_HOLIDAYS, QUICK_TEAM, TEAM, TOKYO, Session, generate, read_trace,  # noqa: E402
                          working_days, write_trace)

NS = "default"
PODS = f"/api/v1/namespaces/{NS}/pods"
MODES = ("a", "b", "c")
RUNS = {"a": {}, "b": {}, "c": {}, "c_nodes1": {"max_warm_nodes": 1},  # name -> c.WarmupPolicy overrides
        "c_open10": {"open_percentile": 10}, "c_p90": {"open_percentile": 10, "of_days": 20},
        "c_hindsight": {}}  # the fixed windows chosen knowing the month (benchmarks/warmup_hindsight.py)
PREPULL = ("b", "c")  # modes run with the image pullers as deployed (the chart's, and the GPU pools' own)
DAEMONSETS = f"/apis/apps/v1/namespaces/{NS}/daemonsets"
LEAD_IN_DAYS = 14  # replayed first (the policy's history builds up, as in production), not measured
WORK_HOURS = (8, 19)  # (b): placeholders from 08:00 to 19:00 local on working days
PLAN_HOUR = 20  # (c): the next working day's plan at 20:00 local
POLL = 15.0  # seconds between looks at a pending user pod (the wait comes from its Ready condition)
BUDGET = BudgetView(Fraction(0), Fraction(1_000_000))
# registry.k8s.io/pause:3.10.1 (the placeholders' image) is a few hundred KiB compressed
PAUSE_SIZE = "320Ki"
GOAL = {"median_wait_ratio": 0.2, "p90_wait_ratio": 0.5, "cost_ratio": 1.05, "cost_vs_placeholders": 1.0}


def deployed_values() -> dict:
    """The chart's merged values as deployed (chart defaults, then helm-values/jupyterhub-aks.yaml)."""
    return chart_values(*VALUE_SETS["aks"])


def site_image(image: str, values: dict) -> str:
    """A catalog image as the hub names it on the site (hub.extraConfig 20-: the registry and tag of
    HYBRIDHUB_IMAGE_REGISTRY/_TAG, here those of singleuser.image), so the puller and the users' pods
    name the same image."""
    registry = values["singleuser"]["image"]["name"].rpartition("/")[0]
    return f"{registry}/{image.rpartition('/')[2].partition(':')[0]}:{values['singleuser']['image']['tag']}"


def pullers(values: dict) -> list[dict]:
    """The image pullers as deployed: the chart's continuous puller rendered from the values (CPU pool), and
    helm-values/gpu-image-puller.yaml (GPU pools) naming the GPU image as the hub names it on the site."""
    gpu = gpu_image_puller(NS)
    for c in gpu["spec"]["template"]["spec"]["initContainers"]:
        c["image"] = site_image(c["image"], values)  # the guide's sed: $REGISTRY/singleuser-gpu:$TAG
    return [p for p in (continuous_puller(values), gpu) if p]


def image_sizes(values: dict, pullers: list[dict]) -> dict:
    """The stand-in's image table: the catalog's images under their site names, and the pullers'."""
    sizes = {site_image(image, values): size for image, size in IMAGE_SIZES.items() if "/hybridhub/" in image}
    sizes.update(IMAGE_SIZES)
    sizes[PAUSE_IMAGE] = PAUSE_SIZE
    for puller in pullers:
        for c in puller["spec"]["template"]["spec"]["initContainers"] + puller["spec"]["template"]["spec"]["containers"]:
            if c["image"] not in sizes:
                raise SystemExit(f"the puller's image {c['image']} has no size in the stand-in's image table")
    return sizes


def stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * q // 100) - 1))]


class Replay:
    """One mode over the trace, on a fresh stand-in cluster."""

    def __init__(self, mode: str, sessions: list[Session], catalog: ProfileCatalog, first: datetime, days: int,
                 workdir: Path, lead_in_days: int = 0, prepull: bool = True,
                 fixed: list[FixedWindow] | None = None, **policy):
        self.mode, self.sessions, self.catalog, self.origin, self.days = mode, sessions, catalog, first, days
        self.measured_from = lead_in_days * 86400  # the lead-in is replayed (history builds up), not measured
        self.profiles = {p.slug: p for p in catalog.all_profiles()}
        self.gpu_pools = {n: p for n, p in catalog.pool_map().items() if p.has_gpu}
        self.values = deployed_values()
        self.pullers = pullers(self.values) if prepull and mode in PREPULL else []
        self.workdir = workdir / f"{mode}-{'-'.join(f'{k}{v}' for k, v in policy.items())}{'-fixed' * bool(fixed)}"
        self.fixed = fixed  # (c) with these windows every working day instead of the policy's plans
        self.policy = WarmupPolicy(timezone="Asia/Tokyo", holidays=[d.isoformat() for d in JP_HOLIDAYS],
                                   log_file=str(self.workdir / "warmup-log.jsonl"), **policy)
        self.calendar = self.policy.calendar()
        self.history = StartHistory(self.workdir / "starts.jsonl")
        self.coldstarts = ColdStartHistory(self.workdir / "coldstarts.json")
        self.events: list = []
        self.seq = itertools.count()
        self.pending: dict[str, tuple[Session, float]] = {}  # user -> (session, spawn time, trace seconds)
        self.waits: list[dict] = []
        self.windows: list[dict] = []  # (c): the plans' kept windows (pool, users, start, end)
        self.plans: list[dict] = []
        self.polling = False
        self.tick_due: float | None = None  # (c): when the runner looks next

    # -- time: trace seconds since ``origin`` <-> the stand-in's simulated epoch seconds
    def at(self, seconds: float) -> datetime:
        return self.origin + timedelta(seconds=seconds)

    def offset(self, moment: datetime) -> float:
        return (moment - self.origin).total_seconds()

    def now(self) -> float:
        return self.clock.now() - self.t0

    def push(self, seconds: float, kind: str, payload=None) -> None:
        heapq.heappush(self.events, (seconds, next(self.seq), kind, payload))

    # -- manifests
    def user_pod(self, session: Session) -> dict:
        profile = self.profiles[session.profile]
        o = profile_overrides(profile)
        requests = {"cpu": f"{o['cpu_guarantee']:g}", "memory": o["mem_guarantee"]}
        limits = {"cpu": f"{o['cpu_limit']:g}", "memory": o["mem_limit"]}
        if profile.gpus:
            requests[GPU_RESOURCE] = limits[GPU_RESOURCE] = str(profile.gpus)
        image = site_image(profile.image, self.values)
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": f"jupyter-{session.user}",
                             "labels": {"component": "singleuser-server", **o["extra_labels"]},
                             "annotations": {USERNAME_ANNOTATION: session.user}},  # as KubeSpawner annotates it
                "spec": {"containers": [{"name": "notebook", "image": image,
                                         "resources": {"requests": requests, "limits": limits}}],
                         "nodeSelector": dict(o["node_selector"]), "tolerations": [dict(t) for t in o["tolerations"]]}}

    def pool_placeholder(self, pool: str, day_start: float) -> dict:
        profile = max((p for p in self.profiles.values() if p.pool.name == pool), key=lambda p: (p.gpus, p.cpu_request))
        wid = window_id(pool, self.at(day_start).isoformat(), "working-hours")
        return placeholder_pod(profile, wid, NS, self.policy.priority_class, self.policy.pause_image)

    # -- API
    async def create(self, manifest: dict) -> None:
        r = await self.http.post(PODS, json=manifest)
        if r.status_code not in (201, 409):
            raise RuntimeError(f"create {manifest['metadata']['name']}: {r.status_code} {r.text}")

    async def delete(self, name: str) -> bool:
        r = await self.http.delete(f"{PODS}/{name}")
        if r.status_code not in (200, 404):
            raise RuntimeError(f"delete {name}: {r.status_code} {r.text}")
        return r.status_code == 200

    async def take_a_booting_warm_node(self, session: Session) -> None:
        """What HybridKubeSpawner does just before it creates a user's pod (spawner/kube.py,
        ``_take_a_booting_warm_node``): delete the pool's oldest placeholder still waiting for its node,
        so the node on its way is the user's and no second node is asked for the placeholder."""
        pool = self.profiles[session.profile].pool.name
        r = await self.http.get(PODS, params={"labelSelector": f"{WARMUP_LABEL}=true,{POOL_LABEL}={pool}"})
        taken = booting_placeholder(r.json().get("items", []))
        if taken is not None:
            await self.delete(taken)

    # -- the replay
    def schedule(self) -> None:
        for s in self.sessions:
            self.push(self.offset(s.start), "spawn", s)
            self.push(self.offset(s.end), "stop", s)
        for day in range(self.days):
            date_ = (self.origin + timedelta(days=day)).date()
            if self.mode == "b" and self.calendar.is_working_day(date_):
                self.push(day * 86400 + WORK_HOURS[0] * 3600, "hours_on", day * 86400)
                self.push(day * 86400 + WORK_HOURS[1] * 3600, "hours_off", day * 86400)
            if self.mode == "c":
                self.push(day * 86400 + PLAN_HOUR * 3600, "plan", None)
        if self.mode == "c":
            self.push(0, "plan", self.origin.date())

    async def handle(self, kind: str, payload) -> None:
        if kind == "spawn":
            if payload.user in self.pending:
                return
            if self.mode == "c":
                await self.take_a_booting_warm_node(payload)
            await self.create(self.user_pod(payload))
            self.pending[payload.user] = (payload, self.now())
            if not self.polling:
                self.polling = True
                self.push(self.now() + POLL, "poll")
        elif kind == "stop":
            self.pending.pop(payload.user, None)
            await self.delete(f"jupyter-{payload.user}")
        elif kind == "poll":
            await self.poll()
        elif kind == "hours_on":
            for pool in self.gpu_pools:
                await self.create(self.pool_placeholder(pool, payload))
        elif kind == "hours_off":
            for pool in self.gpu_pools:
                await self.delete(self.pool_placeholder(pool, payload)["metadata"]["name"])
        elif kind == "plan":
            await self.make_plan(payload)
        elif kind == "tick":
            if payload == self.tick_due:  # else superseded by an earlier one
                self.tick_due = None
                await self.runner.tick(self.at(self.now()))
                self.next_tick()

    async def make_plan(self, day) -> None:
        now = self.at(self.now())
        if self.fixed is None:
            p = next_plan(self.policy, self.catalog, self.coldstarts, self.history, self.prices(), BUDGET, now, day)
        else:
            p = self.fixed_plan(day or self.calendar.next_working_day(now.astimezone(TOKYO).date()))
        if p["date"] is None or p["date"] in {q["date"] for q in self.plans} or \
                self.offset(datetime.fromisoformat(p["date"]).replace(tzinfo=TOKYO)) >= self.days * 86400:
            return  # planned already (a Friday's and the weekend's evenings plan the same Monday)
        self.plans.append({"date": p["date"], "reason": p["reason"],
                           "windows": sum(len(pool["windows"]) for pool in p["pools"])})
        self.windows.extend({"pool": pool["pool"], "users": set(w["users"]),
                             "start": self.offset(datetime.fromisoformat(w["start"])),
                             "end": self.offset(datetime.fromisoformat(w["end"]))}
                            for pool in p["pools"] for w in pool["windows"])
        self.runner.load(placeholders_for(p, self.catalog, self.policy, NS))
        self.next_tick()

    def fixed_plan(self, day) -> dict:
        """The day's plan of the hindsight run: each fixed window on that day, each on a node of its own
        (in the plan's format, :mod:`hybridhub.hub_ext.warmup.plan`)."""
        pools: dict[str, list] = {}
        for w in self.fixed if day is not None else ():
            pool = self.profiles[w.profile].pool.name
            start, end = (datetime(day.year, day.month, day.day, tzinfo=TOKYO) + timedelta(minutes=m)
                          for m in (w.opens, w.closes))
            pools.setdefault(pool, []).append({"start": start.isoformat(), "end": end.isoformat(), "users": [w.user],
                                               "nodes": 1, "lane": len(pools.get(pool, [])),
                                               "starts": [{"user": w.user, "profile": w.profile}]})
        return {"date": day and day.isoformat(), "reason": None,
                "pools": [{"pool": pool, "windows": windows} for pool, windows in sorted(pools.items())]}

    def next_tick(self) -> None:
        """The runner's next look: every ``tick_seconds`` while a placeholder of the plan is waiting to be
        judged (its loop looks every 15 s all day; the looks in between find nothing to do), else at
        the next window's start."""
        waiting = [h for h in self.runner.held.values() if not h.outcome]
        if not waiting:
            return
        now = self.now()
        live = any(h.created is not None or self.offset(h.start) <= now for h in waiting)
        due = now + self.policy.tick_seconds if live else min(self.offset(h.start) for h in waiting)
        if self.tick_due is None or due < self.tick_due:
            self.tick_due = due
            self.push(due, "tick", due)

    def prices(self) -> dict[str, Fraction]:
        return {n: Fraction(str(p.vm_price_per_hour)) for n, p in self.gpu_pools.items()}

    async def poll(self) -> None:
        for user, (session, spawned) in list(self.pending.items()):
            r = await self.http.get(f"{PODS}/jupyter-{user}")
            if r.status_code != 200:
                continue
            pod = r.json()
            ready = next((c for c in pod.get("status", {}).get("conditions", [])
                          if c["type"] == "Ready" and c["status"] == "True"), None)
            if ready is None:
                continue
            del self.pending[user]
            await self.running(session, spawned, stamp(ready["lastTransitionTime"]) - self.t0, pod)
        self.polling = bool(self.pending)
        if self.polling:
            self.push(self.now() + POLL, "poll")

    async def running(self, session: Session, spawned: float, ready: float, pod: dict) -> None:
        profile = self.profiles[session.profile]
        node = (await self.http.get(f"/api/v1/nodes/{pod['spec']['nodeName']}")).json()
        cold = stamp(node["metadata"]["creationTimestamp"]) - self.t0 >= spawned - 1
        wait = max(0.0, ready - spawned)
        if profile.gpus and spawned >= self.measured_from:
            self.waits.append({"user": session.user, "pool": profile.pool.name, "wait": wait, "cold": cold})
        if profile.gpus:
            record_start(self.history, session.user, session.profile, profile.pool.name, self.at(spawned), TOKYO,
                         cold, wait)
            if cold:  # as the spawner does (spawner/kube.py): a start that needed a new node
                self.coldstarts.record(profile.pool.name, wait)
        if self.mode == "b" and profile.pool.name in self.gpu_pools:
            local = self.at(self.now())
            if self.calendar.is_working_day(local.date()) and WORK_HOURS[0] <= local.hour < WORK_HOURS[1]:
                day_start = self.offset(local.replace(hour=0, minute=0, second=0, microsecond=0))
                await self.create(self.pool_placeholder(profile.pool.name, day_start))  # the StatefulSet's replica

    async def run(self) -> dict:
        data = cluster_from_catalog(self.catalog)
        data["images"] = image_sizes(self.values, self.pullers)
        standin = KubeStandIn(load_config(data), manual_clock=True)
        with tempfile.TemporaryDirectory() as tmp:
            await standin.start(kubeconfig_dir=tmp)
            self.clock = standin.clock
            self.http = httpx.AsyncClient(base_url=standin.url, headers={"Authorization": f"Bearer {standin.token}"},
                                          timeout=30)
            kube_api = api_client_for(standin)  # kubernetes_asyncio, as the cost service's kube_api
            # (c): the REAL runner (hybridhub.hub_ext.warmup.actuator_runner) carries out each day's plan
            self.runner = runner_for(self.policy, self.catalog, self.coldstarts, kube_api, NS, self.prices(),
                                     lambda: BUDGET)
            try:
                self.t0 = self.clock.now()
                r = await self.http.post("/apis/scheduling.k8s.io/v1/priorityclasses", json=priority_class())
                assert r.status_code == 201, r.text
                for puller in self.pullers:
                    r = await self.http.post(DAEMONSETS, json=puller)
                    assert r.status_code == 201, r.text
                self.schedule()
                end, start_report = self.days * 86400, None
                self.push(self.measured_from, "mark")
                while self.events and self.events[0][0] <= end:
                    due, _, kind, payload = heapq.heappop(self.events)
                    if due > self.now():
                        await self.clock.advance(due - self.now())
                    if kind == "mark":
                        start_report = standin.cluster.ledger.report(self.t0 + self.measured_from)
                    await self.handle(kind, payload)
                await self.clock.advance(max(0.0, end - self.now()))
                report = between(start_report, standin.cluster.ledger.report(self.t0 + end))
            finally:
                await self.http.aclose()
                await kube_api.close()
                await standin.stop()
        return self.summary(report)

    def summary(self, report: dict) -> dict:
        waits = [w["wait"] for w in self.waits]
        node_hours = {p: report["pools"].get(p, {}).get("node_hours", 0.0) for p in self.gpu_pools}
        cost = month_cost(report, self.catalog, (self.days * 86400 - self.measured_from) // 3600)
        gpu_cost = sum(Fraction(str(self.gpu_pools[p].vm_price_per_hour)) * Fraction(h).limit_denominator(10**6)
                       for p, h in node_hours.items())
        self.windows = [w for w in self.windows if w["start"] >= self.measured_from]
        wasted = sum(1 for w in self.windows if not any(
            s.user in w["users"] and w["start"] <= self.offset(s.start) < w["end"] for s in self.sessions))
        return {"prepull": bool(self.pullers), "gpu_starts": len(waits), "cold_starts": sum(w["cold"] for w in self.waits),
                "median_wait_s": statistics.median(waits) if waits else None,
                "p90_wait_s": percentile(waits, 90), "max_wait_s": max(waits) if waits else None,
                "gpu_node_hours": round(sum(node_hours.values()), 2),
                "gpu_cost_yen": round(float(gpu_cost), 1), "month_cost_yen": round(float(cost), 1),
                "warm_windows": len(self.windows), "warmups_wasted": wasted, "arrivals": self.arrivals(),
                "runner": self.runner_outcomes(),
                "plans": [p for p in self.plans if self.offset(datetime.fromisoformat(p["date"]).replace(tzinfo=TOKYO))
                          >= self.measured_from]}

    def runner_outcomes(self) -> dict | None:
        """(c): how the runner ended the measured days' placeholders (its warm-up log and its refusals)."""
        if self.mode != "c":
            return None
        measured = lambda iso: self.offset(datetime.fromisoformat(iso)) >= self.measured_from  # noqa: E731
        out: dict = {}
        for e in self.runner.log.entries():
            if measured(e["start"]):
                out[e["outcome"]] = out.get(e["outcome"], 0) + 1
        for held in self.runner.held.values():
            if held.outcome and held.created is None and measured(held.start.isoformat()):
                out[held.outcome] = out.get(held.outcome, 0) + 1  # never created: already_here, budget
        return dict(sorted(out.items()))

    def arrivals(self) -> dict | None:
        """(c): where each measured GPU start fell against its user's warm window of that day."""
        if self.mode != "c":
            return None
        out = {"no_window": 0, "before_node_ready": 0, "in_window_node_ready": 0, "after_window": 0}
        for s in self.sessions:
            t, profile = self.offset(s.start), self.profiles[s.profile]
            if t < self.measured_from or not profile.gpus:
                continue
            mine = [w for w in self.windows if s.user in w["users"] and self.at(w["start"]).date() == s.start.date()]
            if not mine:
                out["no_window"] += 1
            elif t < mine[0]["start"] + profile.pool.usual_cold_start_seconds:
                out["before_node_ready"] += 1
            elif t >= mine[0]["end"]:
                out["after_window"] += 1
            else:
                out["in_window_node_ready"] += 1
        return out


def between(before: dict, after: dict) -> dict:
    """The ledger's figures from ``before`` to ``after`` (two cumulative reports)."""
    pools = {}
    for name, pool in after["pools"].items():
        old = before["pools"].get(name, {"T_n_hours": {}, "node_hours": 0.0})
        t_n = {n: h - old["T_n_hours"].get(n, 0.0) for n, h in pool["T_n_hours"].items()}
        pools[name] = {"nodes": pool["nodes"], "T_n_hours": t_n, "node_hours": pool["node_hours"] - old["node_hours"]}
    return {"from": before["to"], "to": after["to"], "pools": pools}


def month_cost(report: dict, catalog: ProfileCatalog, hours: int) -> Fraction:
    """The cost model's total: every pool's T_n, the reference's load balancer, 2 public IPs, other."""
    pools = []
    for pool in catalog.pool_map().values():
        t = report["pools"].get(pool.name, {}).get("T_n_hours", {"0": hours})
        t_n = [Fraction(0)] * (max(int(n) for n in t) + 1)
        for n, h in t.items():
            t_n[int(n)] = Fraction(h).limit_denominator(10**6)
        pools.append(PoolInput(pool.vm_size, Fraction(str(pool.vm_price_per_hour)), tuple(t_n)))
    reference = CostInput(hours=Fraction(hours), pools=tuple(pools), lb_price_per_hour=Fraction("3.36"),
                          public_ip_price_per_hour=Fraction("0.67"), public_ips=2, other=Fraction(200))
    return compute(reference).total


def ratio(x, y):
    return None if x is None or not y else round(x / y, 3)


async def replay_all(sessions: list[Session], days: int, lead_in_days: int, prepull: bool = True,
                     runs: tuple[str, ...] = tuple(RUNS)) -> dict:
    """Every mode over ``days`` days from the first session's day; the first ``lead_in_days`` are not measured."""
    logging.getLogger("tornado.access").setLevel(logging.ERROR)  # the expected 404s of deleted placeholders
    catalog = ProfileCatalog()
    first = min(s.start for s in sessions).astimezone(TOKYO).replace(hour=0, minute=0, second=0, microsecond=0)
    measured = [s for s in sessions if s.start >= first + timedelta(days=lead_in_days)]
    result: dict = {"days": days - lead_in_days, "lead_in_days": lead_in_days,
                    "users": len({s.user for s in measured}), "sessions": len(measured)}
    with tempfile.TemporaryDirectory() as tmp:
        for mode, policy in ((r, RUNS[r]) for r in runs):
            started = time.perf_counter()
            if mode == "c_hindsight":
                result[mode] = await replay_hindsight(result, sessions, catalog, first, days, Path(tmp), lead_in_days,
                                                      prepull)
            else:
                replay = Replay(mode[0], sessions, catalog, first, days, Path(tmp), lead_in_days, prepull, **policy)
                result[mode] = await replay.run()
            result[mode]["replay_seconds"] = round(time.perf_counter() - started, 1)
    a, b, c = result["a"], result["b"], result["c"]
    result["median_wait_ratio"] = ratio(c["median_wait_s"], a["median_wait_s"])
    result["p90_wait_ratio"] = ratio(c["p90_wait_s"], a["p90_wait_s"])
    result["cost_ratio"] = ratio(c["month_cost_yen"], a["month_cost_yen"])
    result["gpu_cost_ratio"] = ratio(c["gpu_cost_yen"], a["gpu_cost_yen"])
    result["cost_vs_placeholders"] = ratio(c["month_cost_yen"], b["month_cost_yen"])
    result["goal"] = GOAL
    result["goal_met"] = {k: result[k] is not None and result[k] <= v for k, v in GOAL.items()}
    result["goal_met"]["cost_vs_placeholders"] = result["cost_vs_placeholders"] is not None and result["cost_vs_placeholders"] < 1
    # the sensitivity runs (RUNS, the module docstring): each one's ratios against (a) and (b)
    for run in runs:
        if run.startswith("c_"):
            s = result[run]
            result[f"{run}_ratios"] = {"median_wait_ratio": ratio(s["median_wait_s"], a["median_wait_s"]),
                                       "p90_wait_ratio": ratio(s["p90_wait_s"], a["p90_wait_s"]),
                                       "cost_ratio": ratio(s["month_cost_yen"], a["month_cost_yen"]),
                                       "cost_vs_placeholders": ratio(s["month_cost_yen"], b["month_cost_yen"])}
    h = result.get("c_hindsight_ratios")
    if h and h["p90_wait_ratio"] is not None:  # can the p90 and cost goals hold together, even knowing the trace?
        result["p90_and_cost_goals_reachable"] = (h["p90_wait_ratio"] <= GOAL["p90_wait_ratio"]
                                                  and h["cost_ratio"] <= GOAL["cost_ratio"])
    return result


HINDSIGHT_TRIES = 3


async def replay_hindsight(result: dict, sessions: list[Session], catalog: ProfileCatalog, first: datetime, days: int,
                           workdir: Path, lead_in_days: int, prepull: bool) -> dict:
    """``c_hindsight``: the cheapest fixed windows knowing the measured days (benchmarks/warmup_hindsight.py)
    that keep the p90 wait within the goal (``GOAL``'s p90 ratio times (a)'s p90).

    The windows are chosen with the module's model, then replayed. The model does not see one person's pod
    taking another's warm node, so when the replay leaves more starts over the limit than the p90 allows,
    the windows are chosen again allowing that many fewer (knowing the month includes knowing that), at most
    ``HINDSIGHT_TRIES`` times; the last replay is reported, with its windows and tries.
    """
    a = result["a"]
    if a["p90_wait_s"] is None:  # no GPU start measured: nothing to warm for
        return await Replay("c", sessions, catalog, first, days, workdir / "hindsight", lead_in_days, prepull,
                            []).run() | {"windows": [], "tries": []}
    limit = GOAL["p90_wait_ratio"] * a["p90_wait_s"]
    workdays = working_days(first.date() + timedelta(days=lead_in_days), days - lead_in_days)
    gpu = [s for s in sessions if s.start >= first + timedelta(days=lead_in_days)
           and catalog.get(s.profile) is not None and catalog.get(s.profile).gpus]
    prices = {p.slug: p.pool.vm_price_per_hour for p in catalog.all_profiles()}
    model = Model(ready_s=a["p90_wait_s"], limit_s=limit)  # (a)'s slower cold starts: see the module
    arrivals, goal_allows = arrivals_by_user(gpu, workdays, TOKYO), allowed_over_limit(len(gpu))
    allowed, tries = goal_allows, []
    while True:
        fixed = best_windows(arrivals, prices, model, allowed)
        replay = Replay("c", sessions, catalog, first, days, workdir / f"hindsight{len(tries)}", lead_in_days,
                        prepull, fixed)
        summary = await replay.run()
        over = sum(w["wait"] > limit for w in replay.waits)
        tries.append({"allowed_over_limit": allowed, "over_limit": over, "month_cost_yen": summary["month_cost_yen"]})
        if over <= goal_allows or allowed == 0 or len(tries) == HINDSIGHT_TRIES:
            break
        allowed = max(0, allowed - (over - goal_allows))
    return summary | {"windows": [vars(w) for w in fixed], "tries": tries}


def print_table(result: dict) -> None:
    names = {"a": "(a) scale from zero", "b": "(b) placeholders", "c": "(c) warm-up policy",
             "c_nodes1": "(c) max_warm_nodes=1", "c_open10": "(c) open_percentile=10",
             "c_p90": "(c) p10 of 20 days", "c_hindsight": "(c) hindsight windows"}
    names = {m: n + (" +pull" if result[m]["prepull"] else "") for m, n in names.items() if m in result}
    print(f"{result['users']} users, {result['sessions']} sessions over {result['days']} days "
          f"(after a {result['lead_in_days']}-day lead-in)")
    print(f"{'mode':<28}{'starts':>7}{'cold':>6}{'median s':>10}{'p90 s':>8}{'node-h':>9}{'GPU yen':>10}"
          f"{'month yen':>11}{'windows':>9}{'wasted':>8}")
    for mode in (m for m in RUNS if m in result):
        m = result[mode]
        print(f"{names[mode]:<28}{m['gpu_starts']:>7}{m['cold_starts']:>6}{m['median_wait_s'] or 0:>10.0f}"
              f"{m['p90_wait_s'] or 0:>8.0f}{m['gpu_node_hours']:>9.1f}{m['gpu_cost_yen']:>10.0f}"
              f"{m['month_cost_yen']:>11.0f}{m['warm_windows']:>9}{m['warmups_wasted']:>8}")
    for mode in (m for m in RUNS if m.startswith("c") and m in result):
        print(f"{names[mode]} GPU starts against the day's window: {result[mode]['arrivals']}")
    for key, limit in GOAL.items():
        verdict = "met" if result["goal_met"][key] else "NOT met"
        print(f"{key:>22}: {result[key]} (goal {'<' if key == 'cost_vs_placeholders' else '<='} {limit}) {verdict}")
    if "p90_and_cost_goals_reachable" in result:
        h = result["c_hindsight_ratios"]
        verdict = ("reachable by" if result["p90_and_cost_goals_reachable"] else "NOT reachable, even by")
        print(f"the p90 and cost goals together: {verdict} fixed windows chosen knowing the month "
              f"(hindsight: p90 {h['p90_wait_ratio']}, cost {h['cost_ratio']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a week, 2 users (< 1 minute)")
    parser.add_argument("--trace", help="replay this JSON Lines trace instead of the default one")
    parser.add_argument("--write-trace", help="write the default trace (or the --quick one) to this file and exit")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--no-prepull", action="store_true", help="run (b) and (c) without the image pullers, "
                        "as before they were deployed")
    parser.add_argument("--lead-in-days", type=int, help=f"days replayed before the measured ones (default "
                        f"{LEAD_IN_DAYS}, --quick 7); with --trace, the trace's first days")
    args = parser.parse_args()
    days, lead_in = (7, 7) if args.quick else (30, LEAD_IN_DAYS)
    if args.lead_in_days is not None:
        lead_in = args.lead_in_days
    if args.trace:
        sessions = read_trace(args.trace)
        first = min(s.start for s in sessions).astimezone(TOKYO).date()
        days = (max(s.end for s in sessions).astimezone(TOKYO).date() - first).days + 1 - lead_in
        if days < 1:
            parser.error(f"the trace has no day after its {lead_in}-day lead-in")
    else:
        team = QUICK_TEAM if args.quick else TEAM
        sessions = generate(lead_in + days, team, args.seed, FIRST_DAY - timedelta(days=lead_in))
    if args.write_trace:
        write_trace(sessions, args.write_trace)
        return
    runs = tuple(r for r in RUNS if not (args.quick and r == "c_p90"))  # a week's history has no 20 days
    result = asyncio.run(replay_all(sessions, lead_in + days, lead_in, not args.no_prepull, runs))
    result.update({"benchmark": "warmup", "quick": bool(args.quick), "trace": args.trace or "default"})
    print_table(result)
    print(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
