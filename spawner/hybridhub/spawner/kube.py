"""HybridKubeSpawner: KubeSpawner for user node pools that scale from zero.

Built on KubeSpawner's public extension points only: ``profile_list`` (a callable over the
profile catalog), ``load_user_options``, ``get_env``, ``start`` (wrapped, not replaced) and
``progress``. What it adds: profiles with prices and group rules, progress by phase with ETAs
from measured cold starts, and fast failure with a message that says what to do.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kubernetes_asyncio.client.rest import ApiException
from kubespawner import KubeSpawner
from tornado import web
from traitlets import Dict, Float, Instance, Unicode, default, validate

from .choice import ProfileNotAllowed, choose_profile, price_line, profile_env, user_groups
from .coldstarts import ColdStartHistory
from .form import options_from_form, render_form
from .labels import POOL_LABEL, WARMUP_LABEL
from .messages import duration, message, phase_name, resource_names
from .phases import Observation, Phase, observe, percent
from .pod import profile_list
from .profiles import Profile, ProfileCatalog
from .settings import HybridSpawner
from .starts import StartHistory, record_start, site_zone, valid_zone_name
from .warm import COMING, WARMED, WarmNews, WarmWatch, booting_placeholder


class SpawnFailed(Exception):
    """A start that cannot succeed; the message is for the user."""


class HybridKubeSpawner(HybridSpawner, KubeSpawner):
    catalog = Instance(ProfileCatalog, help="The profile catalog (configure with c.ProfileCatalog.*).")
    language = Unicode("en", config=True, help="Language of spawn messages when the request names none: en or ja.")
    cold_start_history_path = Unicode(
        "hybridhub-cold-starts.json",
        config=True,
        help="File keeping measured cold-start times per pool (relative to the hub's working directory).",
    )
    start_history_path = Unicode(
        config=True,
        help="""JSON Lines file where every successful GPU start is recorded (who, profile, pool, when,
        cold or not, wait; format in :mod:`hybridhub.spawner.starts`) for the predictive warm-up.
        Default: ``warmup-starts.jsonl`` next to ``cold_start_history_path``. Use the same file as
        ``c.WarmupPolicy.history_file``; empty: record nothing.""",
    )
    site_timezone = Unicode(
        "UTC",
        config=True,
        help="""The site's time zone (IANA name, e.g. ``Asia/Tokyo``): GPU starts are recorded in it.
        Use the same zone as ``c.WarmupPolicy.timezone``.""",
    )
    node_deadline_factor = Float(
        3.0, config=True, help="Fail when a node has not joined after this many times the pool's usual cold start."
    )
    prepare_deadline_seconds = Float(
        600, config=True, help="Fail when the pod's start-up steps (init containers) take longer than this."
    )
    pull_deadline_seconds = Float(1800, config=True, help="Fail when pulling the image takes longer than this.")
    server_deadline_seconds = Float(300, config=True, help="Fail when the container runs but Jupyter does not start.")
    image_sizes = Dict(
        config=True,
        help="""Compressed image sizes in bytes, shown while pulling, e.g.
        ``{"registry.corp/hybridhub/singleuser-gpu:1.0": 7_500_000_000}``.""",
    )
    progress_interval = Float(
        0.5,
        config=True,
        help="""How often (s) a starting server's pod and events are looked at. The stock
        KubeSpawner looks every second; events reach the user within about this delay.""",
    )

    warm_look_interval = Float(
        2.0,
        config=True,
        help="""How often (s) a starting server looks at its pool's warm-up placeholder pods (label
        ``hybridhub/warmup=true``) until it is on a node, to tell the user that a node was warmed up for
        them, or that the warm-up's node is already on its way and when it should join. Needs only
        KubeSpawner's own permission to list pods in its namespace. 0: never look (cold-start ETAs only).""",
    )

    @default("start_history_path")
    def _next_to_cold_starts(self):
        return str(Path(self.cold_start_history_path).with_name("warmup-starts.jsonl"))

    @validate("site_timezone")
    def _known_zone(self, proposal):
        return valid_zone_name(proposal["value"], "site_timezone")

    @default("catalog")
    def _default_catalog(self):
        return ProfileCatalog(parent=self)

    @default("start_timeout")
    def _default_start_timeout(self):
        # a cold GPU start takes minutes: phase deadlines below fail fast instead
        return 3600

    @default("profile_list")
    def _default_profile_list(self):
        return self._profiles_for_user

    @validate("profile_list")
    def _catalog_unless_real_profiles(self, proposal):
        # zero-to-jupyterhub turns its default `singleuser.profileList: []` into
        # c.KubeSpawner.profile_list = [], which would leave no profile to start
        if isinstance(proposal["value"], list) and not proposal["value"]:
            self.log.warning("KubeSpawner.profile_list is empty: using the hybridhub profile catalog")
            return self._profiles_for_user
        return proposal["value"]

    @default("options_form")
    def _default_options_form(self):
        return self._render_form

    def _render_form(self, spawner) -> str:
        """The shared hybridhub form (both languages, price and usual wait per profile)."""
        profiles = self.catalog.for_user(user_groups(self.user), bool(getattr(self.user, "admin", False)))
        if len(profiles) <= 1:
            return ""
        default = choose_profile(self.catalog, self.user, None).slug
        return render_form(profiles, default, {p.slug: self.eta_for(p) for p in profiles}, self.warm_on_intent_service)

    def options_from_form(self, formdata):
        options = options_from_form(formdata)
        choose_profile(self.catalog, self.user, options["profile"], options["lang"])  # refuse forged values
        return options

    def _lang(self) -> str:
        lang = str((self.user_options or {}).get("lang") or self.language)
        return "ja" if lang.startswith("ja") else "en"

    @property
    def history(self) -> ColdStartHistory:
        if not hasattr(self, "_history"):
            self._history = ColdStartHistory(self.cold_start_history_path)
        return self._history

    def eta_for(self, profile: Profile) -> float:
        return self.history.eta(profile.pool.name, profile.pool.usual_cold_start_seconds)

    def _profiles_for_user(self, spawner) -> list[dict]:
        language = self._lang()
        profiles = profile_list(self.catalog, user_groups(self.user), bool(getattr(self.user, "admin", False)), language)
        for entry in profiles:
            profile = self.catalog.get(entry["slug"])
            entry["description"] = f"{entry['description']} — {price_line(profile, self.eta_for(profile), language)}"
        return profiles

    @property
    def profile(self) -> Profile:
        return self._profile

    async def load_user_options(self):
        try:
            self._profile = choose_profile(self.catalog, self.user, (self.user_options or {}).get("profile"), self._lang())
        except ProfileNotAllowed as e:
            raise web.HTTPError(403, str(e), reason=str(e)) from None
        self.user_options = {**(self.user_options or {}), "profile": self._profile.slug}
        await super().load_user_options()
        # remembered before KubeSpawner may create the PVC: a failed first start removes
        # only a claim it created itself, never one holding earlier work
        self._hybrid_claim_existed = (not self.storage_pvc_ensure) or await self._hybrid_claim_exists()
        await self._take_a_booting_warm_node()  # the last step before KubeSpawner creates the pod

    async def _hybrid_claim_exists(self) -> bool:
        try:
            await self.api.read_namespaced_persistent_volume_claim(self.pvc_name, self.namespace)
            return True
        except ApiException as e:
            if e.status == 404:
                return False
            raise

    def get_env(self):
        env = super().get_env()
        env.update(self.hybrid_env(self.user.name))
        if getattr(self, "_profile", None):
            env.update(profile_env(self._profile))
        return env

    # --- start, watched phase by phase -----------------------------------------------

    def start(self):
        self._hybrid_started_at = time.monotonic()
        self._hybrid_observation = Observation(Phase.SUBMITTED, False)
        self._hybrid_warm = WarmWatch()
        self._hybrid_warm_looked = None
        self._hybrid_eta = None
        inner = super().start()
        self._hybrid_start = asyncio.ensure_future(self._supervise(inner))
        return self._hybrid_start

    def _pod(self) -> dict | None:
        key = f"{self.namespace}/{self.pod_name}"
        return self.pod_reflector.pods.get(key) if self.pod_reflector else None

    def _observe(self) -> Observation:
        return observe(self._pod(), self.events)

    @property
    def warm_news(self) -> WarmNews | None:
        """What the warm-up did for this start (:mod:`.warm`), None for a cold start."""
        watch = getattr(self, "_hybrid_warm", None)
        return watch.news if watch else None

    async def _pool_placeholders(self, profile: Profile) -> list[dict] | None:
        """The pool's warm-up placeholder pods as plain dicts; None when the API did not answer (a
        refusal ends the looking: cold-start ETAs only, asked once)."""
        try:
            answer = await self.api.list_namespaced_pod(
                self.namespace, label_selector=f"{WARMUP_LABEL}=true,{POOL_LABEL}={profile.pool.name}",
                _request_timeout=self.k8s_api_request_timeout)
        except ApiException as e:
            self.log.warning("Not looking for warm-up placeholders of pool %s: the API answered %s %s",
                             profile.pool.name, e.status, e.reason)
            self.warm_look_interval = 0  # e.g. no permission: cold-start ETAs only, asked once
            return None
        except Exception as e:  # noqa: BLE001 - a failed look never fails a start; the next tick looks again
            self.log.warning("Could not look for warm-up placeholders of pool %s: %s", profile.pool.name, e)
            return None
        return [self.api.api_client.sanitize_for_serialization(p) for p in answer.items or []]

    async def _take_a_booting_warm_node(self) -> None:
        """A user who comes before the warm node joined takes that node: the pool's oldest still
        unscheduled placeholder is deleted just before this server's pod is created. The node on its
        way is then this pod's (cluster-autoscaler counts pending pods against upcoming nodes), and no
        autoscaler scan sees both pending: it would put the user pod, the higher priority, on the
        upcoming node and scale up a second node for the placeholder. A placeholder that holds a node
        is left alone: the scheduler preempts it for this pod."""
        profile, watch = getattr(self, "_profile", None), getattr(self, "_hybrid_warm", None)
        if profile is None or watch is None or self.warm_look_interval <= 0:
            return
        placeholders = await self._pool_placeholders(profile)
        if not placeholders:
            return
        watch.see(placeholders)
        taken = booting_placeholder(placeholders)
        if taken is None:
            return
        try:
            await self.api.delete_namespaced_pod(taken, self.namespace, grace_period_seconds=0,
                                                 _request_timeout=self.k8s_api_request_timeout)
            self.log.info("Took the warm node on its way for %s: deleted its placeholder %s", self._log_name, taken)
        except ApiException as e:  # 404: another start took it first; a refusal: the runner releases it
            self.log.info("Could not take the placeholder %s: the API answered %s %s", taken, e.status, e.reason)
        except Exception as e:  # noqa: BLE001 - never fails a start
            self.log.warning("Could not take the placeholder %s: %s", taken, e)

    async def _look_for_warm_node(self, observation: Observation) -> None:
        """Look at the pool's placeholders (every ``warm_look_interval`` until placed), then read the news."""
        profile, watch = getattr(self, "_profile", None), getattr(self, "_hybrid_warm", None)
        if profile is None or watch is None or self.warm_look_interval <= 0:
            return
        now = time.monotonic()
        last = self._hybrid_warm_looked
        if observation.phase < Phase.SCHEDULED and (last is None or now - last >= self.warm_look_interval):
            self._hybrid_warm_looked = now
            placeholders = await self._pool_placeholders(profile)
            if placeholders is None:
                return
            watch.see(placeholders)
        events = self.event_reflector.events if self.event_reflector else []
        watch.read(self._pod(), events, node=observation.node)

    def _deadline_for(self, observation: Observation, entered: float) -> tuple[str, float] | None:
        profile = getattr(self, "_profile", None)
        if profile is None:
            return None
        if observation.phase == Phase.WAITING_FOR_NODE:
            return "waiting for a node", max(60.0, self.eta_for(profile) * self.node_deadline_factor)
        if observation.phase == Phase.PREPARING:
            return "preparing the server", self.prepare_deadline_seconds
        if observation.phase == Phase.PULLING:
            return "pulling the image", self.pull_deadline_seconds
        if observation.phase == Phase.STARTING:
            return "starting the server", self.server_deadline_seconds
        return None

    async def _supervise(self, inner: asyncio.Future):
        phase_entered = time.monotonic()
        phase = Phase.SUBMITTED
        try:
            while not inner.done():
                observation = self._observe()
                await self._look_for_warm_node(observation)
                self._hybrid_observation = observation
                if observation.phase != phase:
                    phase, phase_entered = observation.phase, time.monotonic()
                if observation.failure:
                    raise SpawnFailed(self._failure_message(observation))
                deadline = self._deadline_for(observation, phase_entered)
                if deadline and time.monotonic() - phase_entered > deadline[1]:
                    raise SpawnFailed(self._deadline_message(observation, *deadline))
                await asyncio.wait({inner}, timeout=self.progress_interval)
            url = inner.result()
        except SpawnFailed as failed:
            await self._abandon(inner)
            raise web.HTTPError(500, str(failed), reason=str(failed)) from None
        observation = self._observe()
        await self._look_for_warm_node(observation)  # the news is final before the start is done
        waited = time.monotonic() - self._hybrid_started_at
        cold = observation.scale_up and self.warm_news is None  # a warmed or head-started wait is not a cold start
        if cold and getattr(self, "_profile", None):
            self._start_eta(self._profile)  # messages still to come keep the ETA this start was given
            self.history.record(self._profile.pool.name, waited)
        self._record_gpu_start(cold, waited)
        return url

    def _record_gpu_start(self, cold: bool, waited: float) -> None:
        """Every successful GPU start, for the warm-up's prediction; a failed write never fails the start."""
        profile = getattr(self, "_profile", None)
        if not (profile and profile.gpus and self.start_history_path):
            return
        if not hasattr(self, "_start_history"):
            self._start_history = StartHistory(self.start_history_path)
        try:
            # when the person asked for the server (what the prediction learns), not when it was ready
            asked = datetime.now(timezone.utc) - timedelta(seconds=waited)
            record_start(self._start_history, self.user.name, profile.slug, profile.pool.name,
                         asked, site_zone(self.site_timezone), cold, waited)
        except OSError:
            self.log.exception("Could not record the GPU start in %s", self.start_history_path)

    def _deadline_message(self, observation: Observation, phase: str, seconds: float) -> str:
        language, pool = self._lang(), self._profile.pool.name
        if observation.phase == Phase.WAITING_FOR_NODE and observation.scale_up:
            # the autoscaler asked for a node that never came (an asynchronous VMSS failure shows so)
            return message("node_never_joined", language, pool=pool, seconds=int(seconds),
                           eta=int(self.eta_for(self._profile)))
        if observation.phase == Phase.WAITING_FOR_NODE and observation.autoscaler_note:
            return message("scale_not_ready", language, pool=pool, seconds=int(seconds))
        return message("phase_deadline", language, phase=phase_name(phase, language), seconds=int(seconds))

    def _failure_message(self, observation: Observation) -> str:
        failure = observation.failure
        language, pool = self._lang(), self._profile.pool.name
        kind = "GPU" if self._profile.gpus else "CPU"
        if failure.kind in ("cannot_scale", "pool_at_max", "scale_backoff"):
            return message(failure.kind, language, pool=pool, reason=failure.reason)
        if failure.kind == "autoscaler_limit":
            return message(failure.kind, language, kind=kind, resources=resource_names(failure.reason, language))
        if failure.kind == "image_pull_failed":
            return message("image_pull_failed", language, image=self.image, reason=failure.reason)
        if failure.kind in ("init_image_pull_failed", "init_crash_loop"):
            return message(failure.kind, language, step=failure.step, image=failure.image, reason=failure.reason)
        return message("crash_loop", language, reason=failure.reason)

    async def _abandon(self, inner: asyncio.Future) -> None:
        """Stop waiting and remove what this start created, so nothing is left behind."""
        inner.cancel()
        try:
            await inner
        except BaseException:  # the cancelled start's own error is not the user's message
            pass
        try:
            await self.stop(now=True)
        except Exception:
            self.log.exception("Could not delete pod %s after a failed start", self.pod_name)
        if getattr(self, "_hybrid_claim_existed", True) is False:
            try:
                await self.api.delete_namespaced_persistent_volume_claim(self.pvc_name, self.namespace)
            except ApiException as e:
                if e.status != 404:
                    self.log.exception("Could not delete PVC %s after a failed start", self.pvc_name)
                    return
            # KubeSpawner saves pvc_name in the state and skips creating the claim when
            # _pvc_exists is set: the next start must create it again
            self._pvc_exists = False

    async def progress(self):
        """Messages by phase, each at most once, with percentages that follow the phases."""
        language = self._lang()
        sent: set[str] = set()
        while True:
            start = getattr(self, "_hybrid_start", None)
            # the supervisor keeps the latest observation: one look per tick serves both
            observation = getattr(self, "_hybrid_observation", None) or Observation(Phase.SUBMITTED, False)
            if start is not None and start.done() and self.pod_reflector and not start.cancelled() and not start.exception():
                observation = self._observe()
            profile = getattr(self, "_profile", None)
            for key, text in self._phase_messages(observation, profile, language):
                if key not in sent:
                    sent.add(key)
                    eta = self._start_eta(profile) if profile else 0
                    waited = self._waited_for_node()
                    yield {"progress": percent(observation, waited, eta), "message": text}
            if start is not None and start.done():
                return
            await asyncio.sleep(self.progress_interval)

    def _phase_messages(self, observation: Observation, profile: Profile | None, language: str):
        if profile is None:
            return
        kind = "GPU" if profile.gpus else "CPU"
        eta = self._start_eta(profile)
        news = self.warm_news
        if news is not None and news.kind == COMING and observation.scale_up:
            news = None  # the autoscaler asked for a node for this pod itself (the warm-up's never joined): cold ETA
        if news is not None:
            yield from self._warm_messages(news, observation, profile, kind, eta, language)
        elif observation.phase >= Phase.WAITING_FOR_NODE and observation.scale_up:
            yield "requesting", message(
                "requesting_node", language, kind=kind, pool=profile.pool.name, minutes=max(1, round(eta / 60))
            )
            if observation.phase == Phase.WAITING_FOR_NODE:
                waited = int(time.monotonic() - getattr(self, "_hybrid_started_at", time.monotonic()))
                if waited >= 15:  # a reassurance every 15 s while the node joins
                    yield f"waiting-{waited // 15}", message(
                        "waiting_for_node", language, kind=kind, elapsed=waited, eta=int(eta)
                    )
        elif observation.phase == Phase.WAITING_FOR_NODE:
            yield "scheduling", message("scheduling", language)
        if observation.phase >= Phase.SCHEDULED and observation.node:
            yield "node", message("node_ready", language, node=observation.node)
        for step in observation.steps:  # each start-up step once, even when it passed between two looks
            yield f"preparing-{step}", message("preparing_server", language, step=step)
        if observation.phase >= Phase.PULLING and observation.image_present:
            yield "image-ready", message("image_ready", language)
        elif observation.phase >= Phase.PULLING:
            size_bytes = observation.image_size or self.image_sizes.get(profile.image)
            size = f" ({size_bytes / 2**30:.1f} GiB)" if size_bytes else ""
            yield "pulling", message("pulling_image", language, image=profile.image, size=size)
        if observation.phase >= Phase.STARTING:
            yield "starting", message("starting_server", language)

    def _start_eta(self, profile: Profile) -> float:
        """The pool's ETA as it was when this start began: the start's own measurement, recorded when it
        ends, must not change what its last progress messages say (the progress may look only after it)."""
        eta = getattr(self, "_hybrid_eta", None)
        if eta is None:
            eta = self._hybrid_eta = self.eta_for(profile)
        return eta

    def _waited_for_node(self) -> float:
        """Seconds this start has waited, plus the head start of a node the warm-up had already asked for."""
        waited = time.monotonic() - getattr(self, "_hybrid_started_at", time.monotonic())
        news = self.warm_news
        return waited + (news.head_start if news is not None and news.kind == COMING else 0.0)

    def _warm_messages(self, news: WarmNews, observation: Observation, profile: Profile, kind: str, eta: float,
                       language: str):
        """A warmed node instead of the cold ETA; or the warm-up's node on its way, ETA from its request."""
        pool = profile.pool.name
        if news.kind == COMING:
            ago, usual = duration(news.head_start, language), duration(eta, language)
            remaining = news.remaining(eta)
            if remaining > 0:
                yield "coming", message("node_coming", language, kind=kind, pool=pool, ago=ago,
                                        remaining=duration(remaining, language), eta=usual)
            else:
                yield "coming", message("node_coming_late", language, kind=kind, pool=pool, ago=ago, eta=usual)
            if observation.phase == Phase.WAITING_FOR_NODE:
                waited = int(self._waited_for_node())
                if waited - news.head_start >= 15:  # the same 15 s reassurance as a cold start, counted from the request
                    yield f"waiting-{int(waited - news.head_start) // 15}", message(
                        "waiting_for_node", language, kind=kind, elapsed=waited, eta=int(eta))
        if news.kind == WARMED:
            yield "warmed", message("node_warmed", language, kind=kind, node=news.node)
