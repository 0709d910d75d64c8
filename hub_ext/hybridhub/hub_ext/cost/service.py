"""The measured-cost service, run by JupyterHub: ``python -m hybridhub.hub_ext.cost``.

It watches the cluster's nodes, the autoscaler's scale-up / scale-down events and the user pods
(list + watch, resumed after dropped watches and 410 Gone), polls the hub for each server's
profile, feeds a :class:`~.recorder.CostRecorder`, saves it (and a summary the budget guard
reads) atomically, and serves the admin page and its JSON / CSV API.  Prices and pools come from
the spawner's :class:`~hybridhub.spawner.profiles.ProfileCatalog`; the fixed terms from
``c.CostService.*``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from datetime import timezone, tzinfo
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import httpx
from traitlets import Bool, Dict, Float, Int, List, TraitError, Unicode, default, validate

from hybridhub.spawner.profiles import ProfileCatalog

from ..service_app import HubServiceApp

from .budget import FixedCosts, month_bounds
from .feed import ClusterFeed
from .ledger import HOUR, to_micros
from .recorder import CostRecorder
from .store import JsonStore, StoreError
from .summary import amount, build_summary
from .transfer import Prices, Report, TransferBook, measured_cost, month_figures
from .warmup_loop import WarmupLoop, WarmupService, from_micros
from .warmup_report import warmup_report

MESSAGES = {
    "bad_state": "cannot read the cost state {path}: {reason}",
}


def wall_clock() -> int:
    return time.time_ns() // 1000


def exact(value: float | int | str) -> Fraction:
    """A configured number as written (``11.52`` is 1152/100, not the nearest binary float)."""
    return Fraction(str(value))


class CostService(HubServiceApp):
    name = "hybridhub-cost"
    description = "Measure what the cluster costs (T_n per pool, per user and profile) and keep it under budget."
    aliases = {"config": "CostService.config_file", "state": "CostService.state_path",
               "namespace": "CostService.namespace", "kubeconfig": "CostService.kube_config_file"}

    config_file = Unicode("", config=True, help="""Python config file with ``c.CostService.*`` and
        ``c.ProfileCatalog.*`` (use the same profile catalog as the hub: prices come from it).""")
    state_path = Unicode("hybridhub-cost.json", config=True, help="""Where the measurements are kept
        (one JSON file, written atomically). Put it on a persistent volume: it survives restarts.""")
    summary_path = Unicode(config=True, help="""Where the latest summary is written for the budget
        guard (``c.BudgetGuard.summary_path``). Default: ``<state_path stem>-summary.json``.""")
    budget = Float(100000.0, config=True, help="Monthly budget, in ``currency``. Example: 100000 (yen).")
    warn_percent = Float(80.0, config=True, help="The page warns when the projection reaches this % of the budget.")
    lb_price_per_hour = Float(0.0, config=True, help="Load balancer price per hour (L in C_lb = L·t). Example: 3.36.")
    public_ip_price_per_hour = Float(0.0, config=True, help="Price of one public IP per hour (P). Example: 0.67.")
    public_ips = Int(2, config=True, help="How many public IPs the deployment pays for (2 in the paper).")
    other_per_month = Float(0.0, config=True, help="""Other small costs per month, not data transfer
        (storage, …): e = the month's measured data transfer + this. Example: 200.""")
    egress_price_per_gb = Float(0.0, config=True, help="""Price of one GB leaving the cloud (Azure's
        bandwidth price for data transfer out to the internet, in ``currency``; Azure bills no
        ingress). The measured bytes times this make the data-transfer part of e (docs/cost.md).""")
    ingress_price_per_gb = Float(0.0, config=True, help="""Price of one GB entering the cloud, in
        ``currency`` (0 on Azure: inbound data transfer is free).""")
    transfer_reporters = List(Unicode(), config=True, help="""Hub services (by name) whose tokens may
        report transfers on behalf of the user they name, e.g. the training template's reporter
        identity (``HYBRIDHUB_TRANSFER_REPORT_TOKEN``). Default: none; users' tokens always
        report their own.""")
    transfer_path = Unicode(config=True, help="""Where the reported transfers are kept (one JSON
        file, written atomically). Default: ``<state_path stem>-transfer.json``.""")
    currency = Unicode("JPY", config=True, help="Label of the amounts.")
    timezone = Unicode("UTC", config=True, help="""Time zone of the accounting month, e.g. ``Asia/Tokyo``
        for a Japanese company's calendar month.""")
    extra_pools = Dict(config=True, help="""Pools billed but not in the profile catalog, e.g. the
        hub's system pool::

            c.CostService.extra_pools = {"system": {"vm_size": "Standard_D2s_v5", "vm_price_per_hour": 13.3}}
        """)
    namespace = Unicode(config=True, help="Namespace of the user pods (default: $POD_NAMESPACE, else 'default').")
    event_namespaces = List(Unicode(), config=True, help="""Namespaces whose autoscaler events are
        watched: the user pods' (TriggeredScaleUp, NotTriggerScaleUp), 'default' (ScaleDown events
        on nodes) and 'kube-system' (the autoscaler's status ConfigMap: FailedToScaleUpGroup,
        ScaleUpTimedOut; helm-values/cost-node-reader.yaml grants reading them).
        Default: [namespace, "default", "kube-system"].""")
    kube_config_file = Unicode("", config=True, help="""kubeconfig to use; empty: the in-cluster
        service account when running in a pod, else $KUBECONFIG / ~/.kube/config.""")
    watch_timeout_seconds = Int(300, config=True, help="Server-side timeout of each watch; it then resumes.")
    provisioning_timeout_seconds = Int(3600, config=True, help="""A scale-up whose VM has not joined
        after this long is forgotten (a VM never allocated costs nothing).""")
    share_by_cpu_request = Bool(True, config=True, help="""Servers sharing a node share its cost in
        proportion to their pods' CPU requests; False: equal shares.""")
    hub_poll_interval = Float(30.0, config=True, help="Seconds between two reads of the hub's server list.")
    save_interval = Float(5.0, config=True, help="Seconds between two saves of the state and summary (when changed).")
    summary_interval = Float(60.0, config=True, help="""The summary for the budget guard is rewritten at
        least this often (seconds), changes or not: the projection moves with time.""")
    keep_days = Int(100, config=True, help="Measurements older than this many days are pruned.")

    @validate("budget")
    def _check_budget(self, proposal):
        if proposal["value"] <= 0:
            raise TraitError(f"CostService.budget must be greater than 0 (got {proposal['value']})")
        return proposal["value"]

    @validate("warn_percent")
    def _check_warn(self, proposal):
        if not 0 <= proposal["value"] <= 100:
            raise TraitError(f"CostService.warn_percent must be between 0 and 100 (got {proposal['value']})")
        return proposal["value"]

    @validate("timezone")
    def _check_timezone(self, proposal):
        try:
            ZoneInfo(proposal["value"])
        except (ValueError, KeyError, OSError):
            raise TraitError(f"CostService.timezone: unknown time zone {proposal['value']!r} (e.g. Asia/Tokyo)") from None
        return proposal["value"]

    @validate("extra_pools")
    def _check_extra_pools(self, proposal):
        for name, pool in proposal["value"].items():
            price = pool.get("vm_price_per_hour") if isinstance(pool, dict) else None
            if isinstance(price, bool) or not isinstance(price, (int, float)) or price < 0:
                raise TraitError(f"CostService.extra_pools[{name!r}].vm_price_per_hour: a number >= 0 is required")
        return proposal["value"]

    @default("summary_path")
    def _summary_path(self):
        path = Path(self.state_path)
        return str(path.with_name(path.stem + "-summary.json"))

    @default("transfer_path")
    def _transfer_path(self):
        path = Path(self.state_path)
        return str(path.with_name(path.stem + "-transfer.json"))

    @validate("egress_price_per_gb", "ingress_price_per_gb")
    def _check_transfer_price(self, proposal):
        if proposal["value"] < 0:
            raise TraitError(f"CostService.{proposal['trait'].name} must be 0 or more (got {proposal['value']})")
        return proposal["value"]

    @default("namespace")
    def _namespace(self):
        return os.environ.get("POD_NAMESPACE") or _service_account_namespace() or "default"

    @default("event_namespaces")
    def _event_namespaces(self):
        return list(dict.fromkeys([self.namespace, "default", "kube-system"]))

    # -- set-up --------------------------------------------------------------------------
    def initialize(self, argv=None):
        super().initialize(argv)
        if self.config_file:
            self.load_config_file(self.config_file)
        self.clock = wall_clock  # µs since the epoch; tests use the stand-in's simulated clock
        self.catalog = ProfileCatalog(parent=self)
        self.store = JsonStore(self.state_path)
        self.summary_store = JsonStore(self.summary_path)
        self.recorder, feed_state = self.load_state()
        self.transfer_store = JsonStore(self.transfer_path)
        self.transfers = self.load_transfers()
        self.feed = ClusterFeed(self.recorder, share_by_cpu=self.share_by_cpu_request)
        self.feed.restore(feed_state)
        self.saved_changes = self.feed.changes
        self.tasks: list[asyncio.Task] = []
        self._summary_cache: tuple | None = None
        self.summary_written = float("-inf")
        self.warmup = self.make_warmup()

    def make_warmup(self) -> WarmupLoop | None:
        """The warm-up (``c.WarmupService.enabled``), with this service's prices, budget view and clock."""
        from ..warmup.budget_stop import BudgetView
        from ..warmup.settings import WarmupPolicy

        settings = WarmupService(parent=self)
        if not settings.enabled:
            return None
        if not settings.plan_file:
            settings.plan_file = str(Path(self.state_path).with_name("warmup-plans.json"))
        summary = self.summary

        def budget() -> BudgetView:
            s = summary()
            return BudgetView(Fraction(s["projection"]["total_exact"]), exact(self.budget), exact(self.warn_percent))

        return WarmupLoop(settings, WarmupPolicy(parent=self), self.catalog, self.namespace,
                          lambda: dict(self.recorder.prices), budget, lambda: from_micros(self.clock()))

    def warmup_figures(self) -> dict:
        """``/api/warmup``: today's plan, the runner's state, this month's warm-ups per pool."""
        return self.summary()["warmup"]

    def pool_info(self) -> dict[str, dict]:
        info = {p.name: {"vm_size": p.vm_size, "vm_price_per_hour": p.vm_price_per_hour}
                for p in self.catalog.pool_map().values()}
        for name, extra in self.extra_pools.items():
            info.setdefault(name, {"vm_size": str(extra.get("vm_size", "")),
                                   "vm_price_per_hour": extra["vm_price_per_hour"]})
        return info

    def fixed(self) -> FixedCosts:
        return FixedCosts(exact(self.lb_price_per_hour), exact(self.public_ip_price_per_hour), self.public_ips,
                          exact(self.other_per_month), self.currency)

    def load_state(self) -> tuple[CostRecorder, dict]:
        prices = {name: exact(p["vm_price_per_hour"]) for name, p in self.pool_info().items()}
        try:
            data = self.store.load()
            recorder = CostRecorder.from_dict(data["recorder"]) if data else None
        except (StoreError, ValueError, KeyError, TypeError) as exc:
            self.log.critical(MESSAGES["bad_state"].format(path=self.state_path, reason=exc))
            raise SystemExit(2) from None
        if recorder is None:
            return CostRecorder(prices, self.fixed()), {}
        recorder.prices, recorder.fixed = prices, self.fixed()  # the configuration is authoritative
        return recorder, data.get("feed") or {}

    def load_transfers(self) -> TransferBook:
        try:
            return TransferBook.from_dict(self.transfer_store.load())
        except (StoreError, ValueError, KeyError, TypeError, AttributeError) as exc:
            self.log.critical(MESSAGES["bad_state"].format(path=self.transfer_path, reason=exc))
            raise SystemExit(2) from None

    def transfer_prices(self) -> Prices:
        return Prices(exact(self.egress_price_per_gb), exact(self.ingress_price_per_gb))

    def month_key(self) -> str:
        start, _ = month_bounds(from_micros(self.clock()), self.tz)
        return start.strftime("%Y-%m")

    def record_transfer(self, report: Report) -> bool:
        """A report's bytes into this month (False: that report was recorded already), saved at once."""
        added = self.transfers.record(self.month_key(), report)
        if added:
            self.transfers.prune(max(2, self.keep_days // 28 + 1))
            self.transfer_store.save(self.transfers.to_dict())
        return added

    def transfer_figures(self) -> dict:
        """``/api/transfer``: this month's GB in/out, their cost, what was saved, per kind and user."""
        return self.summary()["transfer"]

    @property
    def tz(self) -> tzinfo:
        return timezone.utc if self.timezone == "UTC" else ZoneInfo(self.timezone)

    # -- figures and persistence ---------------------------------------------------------
    def summary(self) -> dict:
        """The figures as of now; the page and API reuse them for a second while nothing changed."""
        self.feed.flush()
        key = (self.feed.changes, self.transfers.changes, self.clock() // 1_000_000)
        if self._summary_cache and self._summary_cache[0] == key:
            return self._summary_cache[1]
        summary = self._build_summary()
        self._summary_cache = (key, summary)
        return summary

    def _build_summary(self) -> dict:
        # e = the month's measured data transfer + other_per_month; the model takes e per month
        # (pro rata so far, all of it in the projection), so the transfer enters it projected:
        # so far x month / elapsed, which pro rata is exactly the cost measured so far
        now = self.clock()
        start, end = month_bounds(from_micros(now), self.tz)
        month = start.strftime("%Y-%m")
        measured = measured_cost(self.transfers, month, self.transfer_prices())
        projected = measured * Fraction(to_micros(end) - to_micros(start), max(1, now - to_micros(start)))
        self.recorder.fixed = FixedCosts(exact(self.lb_price_per_hour), exact(self.public_ip_price_per_hour),
                                         self.public_ips, exact(self.other_per_month) + projected, self.currency)
        summary = build_summary(self.recorder, self.clock(), exact(self.budget), exact(self.warn_percent),
                                self.tz, self.pool_info(), self.feed.hub_servers)
        summary["transfer"] = {**month_figures(self.transfers, month, self.transfer_prices(), self.currency),
                               "other_per_month": amount(exact(self.other_per_month))}
        if self.warmup is not None:  # the admin console reads the summary file: it shows them too
            summary["warmup"] = warmup_report(self.warmup.status(), self.warmup.log.entries(), summary["month"])
        return summary

    def save(self, force: bool = False) -> None:
        if not force and self.feed.changes == self.saved_changes:
            if time.monotonic() - self.summary_written >= self.summary_interval:
                self.write_summary()
            return
        now = self.clock()
        keep = now - self.keep_days * 24 * HOUR
        self.recorder.prune(keep)
        self.feed.forget_before(keep)
        self.store.save({"recorder": self.recorder.to_dict(), "feed": self.feed.state()})
        self.write_summary()
        self.saved_changes = self.feed.changes

    def write_summary(self) -> None:
        self.summary_store.save(self.summary())
        self.summary_written = time.monotonic()

    def housekeeping(self) -> None:
        self.feed.flush()
        self.feed.expire(self.clock(), self.provisioning_timeout_seconds * 1_000_000)
        self.save()

    # -- the hub -------------------------------------------------------------------------
    async def poll_hub(self, client: httpx.AsyncClient) -> None:
        users, offset = [], 0
        while True:
            r = await client.get("users", params={"state": "active", "offset": offset, "limit": 200},
                                 headers={"Accept": "application/jupyterhub-pagination+json"})
            r.raise_for_status()
            page = r.json()
            items = page["items"] if isinstance(page, dict) else page
            users += items
            if not isinstance(page, dict) or not (page.get("_pagination") or {}).get("next"):
                break
            offset += len(items)
        self.feed.hub_users(users)

    async def hub_loop(self) -> None:
        headers = {"Authorization": f"token {self.api_token}"}
        async with httpx.AsyncClient(base_url=self.api_url.rstrip("/") + "/", headers=headers, timeout=10) as client:
            while True:
                try:
                    await self.poll_hub(client)
                except Exception as exc:  # the hub restarting must not stop the service; no URL nor token logged
                    self.log.warning("reading the hub's servers failed: %s", type(exc).__name__)
                await asyncio.sleep(self.hub_poll_interval)

    # -- Kubernetes ----------------------------------------------------------------------
    async def kube_api(self):
        from kubernetes_asyncio import client, config

        if self.kube_config_file:
            return await config.new_client_from_config(config_file=self.kube_config_file)
        environ = in_cluster_environ(os.environ, os.path.exists(config.incluster_config.SERVICE_TOKEN_FILENAME))
        if environ is not None:
            config.load_incluster_config(environ=environ)
            return client.ApiClient()
        return await config.new_client_from_config()

    def watchers(self, api) -> list:
        from kubernetes_asyncio import client

        from .kube import ListWatch

        core = client.CoreV1Api(api)
        now = self.clock
        feed = self.feed
        kw = {"watch_timeout": self.watch_timeout_seconds, "log": self.log}
        out = [ListWatch("events " + ns, core.list_namespaced_event, feed.events_listed,
                         lambda kind, obj: feed.event(obj, kind), namespace=ns, **kw)
               for ns in self.event_namespaces]
        out.append(ListWatch("nodes", core.list_node, lambda items: feed.nodes_listed(items, now()),
                             lambda kind, obj: feed.node_event(kind, obj, now()), **kw))
        out.append(ListWatch("pods", core.list_namespaced_pod, lambda items: feed.pods_listed(items, now()),
                             lambda kind, obj: feed.pod_event(kind, obj, now()), namespace=self.namespace,
                             label_selector="component=singleuser-server", **kw))
        return out

    async def start_watching(self, api) -> list:
        """One combined first sync of the autoscaler's events and the nodes (applied in time order),
        then a watch on each from there; the pods are listed and watched on their own."""
        from .kube import list_items

        watchers = self.watchers(api)
        events, nodes = [], []
        for w in watchers[:-1]:
            items, rv = await list_items(w.list_fn, **w.kwargs)
            (nodes if w.name == "nodes" else events).extend(items)
            w.prime(rv)
        self.feed.sync(events, nodes, self.clock())
        for w in watchers:
            self.tasks.append(asyncio.create_task(w.run(), name=w.name))
        await watchers[-1].synced.wait()
        self.save(force=True)
        return watchers

    # -- running -------------------------------------------------------------------------
    async def run(self) -> None:
        if self.service_url:
            from .web import make_app

            url = urlparse(self.service_url)
            from .web import TransferApi

            transfer = TransferApi(self.transfer_figures, self.record_transfer, lambda: list(self.transfer_reporters))
            make_app(self.service_prefix, self.summary, secrets.token_bytes(32),
                     self.warmup_figures if self.warmup else None, transfer,
                     self.warmup.on_intent if self.warmup else None).listen(
                url.port or 80, url.hostname or "127.0.0.1")
        self.tasks.append(asyncio.create_task(self.hub_loop(), name="hub"))
        self.log.info("hybridhub cost: pools %s, namespace %s, state %s", ", ".join(self.pool_info()),
                      self.namespace, self.state_path)
        api, delay = None, 1.0
        try:
            while api is None:
                try:
                    api = await self.kube_api()
                    await self.start_watching(api)
                except Exception as exc:  # the API server may not be up yet: the page still answers
                    self.log.warning("cannot reach Kubernetes (%s: %s); retrying in %.0f s",
                                     type(exc).__name__, exc, delay)
                    if api is not None:
                        await api.close()
                    api = None
                    await asyncio.sleep(delay)
                    delay = min(30.0, delay * 2)
            if self.warmup is not None:
                self.tasks.append(asyncio.create_task(self.warmup.run(api), name="warmup"))
            while True:
                self.housekeeping()
                await asyncio.sleep(self.save_interval)
        finally:
            await self.stop()
            if api is not None:
                await api.close()

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()
        self.feed.flush(force=True)
        self.save(force=True)


main = CostService.launch_instance


SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def _service_account_namespace() -> str:
    """The pod's namespace as Kubernetes mounts it for every pod with a service account."""
    try:
        with open(SERVICE_ACCOUNT_NAMESPACE, encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return ""


def in_cluster_environ(environ, has_service_account: bool) -> dict | None:
    """How to reach the API server from a pod; None outside a cluster.

    A hub-managed service may start without the ``KUBERNETES_SERVICE_*`` variables (JupyterHub
    passes services a bare environment); inside a pod with a service account, the API server is
    still ``kubernetes.default.svc:443`` through the cluster's DNS.
    """
    if environ.get("KUBERNETES_SERVICE_HOST"):
        return dict(environ)
    if has_service_account:
        return {**environ, "KUBERNETES_SERVICE_HOST": "kubernetes.default.svc", "KUBERNETES_SERVICE_PORT": "443"}
    return None
