"""The server's activity state: samples work, remembers the last busy moment, holds the
culler's warning (from the answer to the last report) and the user's one keep-alive. Pure
state plus probes; no HTTP here (``reporter`` sends the reports)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from tornado.ioloop import PeriodicCallback
from typing import Callable

from traitlets import Any, Float, Int, Unicode, default
from traitlets.config import LoggingConfigurable

from hybridhub.spawner import envvars

from . import registry as registry_module
from .errors import KeepAliveRefused
from .gpu import detect_gpu_source
from .sources import probe_gpu, probe_kernels, probe_terminals, probe_work


def utcnow() -> datetime:
    """The one clock of the activity monitor (tests patch this)."""
    return datetime.now(timezone.utc)


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class ActivityMonitor(LoggingConfigurable):
    """Activity of this user server as the hybridhub culler sees it (``c.ActivityMonitor.*``)."""

    sample_seconds = Float(
        2.0,
        config=True,
        help="""How often the server samples kernels, terminals, work and GPUs, in seconds.
        Work shorter than this between two samples may go unseen.""",
    )
    gpu_busy_percent = Int(10, config=True, help="GPU utilisation (percent) at or above which the GPU counts as busy.")
    browser_timeout_seconds = Float(
        90.0,
        config=True,
        help="""A browser counts as connected if the JupyterLab extension polled the activity
        route within this many seconds (it polls every 30 s, faster while a warning is shown).""",
    )
    idle_timeout_seconds = Int(
        config=True,
        help="The profile's idle timeout, by which one keep-alive extends (default: $HYBRIDHUB_IDLE_TIMEOUT).",
    )
    profile = Unicode(config=True, help="The profile slug (default: $HYBRIDHUB_PROFILE).")
    gpu_source = Any(help="Object with .utilisation() -> list[int]; NVML when available.")
    registry = Any(help="The WorkRegistry of this server (the module-level one by default).")

    @default("idle_timeout_seconds")
    def _idle_timeout_default(self):
        try:
            return int(os.environ.get(envvars.IDLE_TIMEOUT.name, "0"))
        except ValueError:
            return 0

    @default("profile")
    def _profile_default(self):
        return os.environ.get(envvars.PROFILE.name, "")

    @default("gpu_source")
    def _gpu_source_default(self):
        return detect_gpu_source()

    @default("registry")
    def _registry_default(self):
        return registry_module.REGISTRY

    def __init__(self, managers: dict | None = None, **kwargs):
        """``managers`` is looked up at each sample (``kernel_manager``, ``terminal_manager``):
        jupyter-server's web_app settings, where the terminals extension may register later."""
        super().__init__(**kwargs)
        self.managers = managers if managers is not None else {}
        self.started = utcnow()
        self.last_busy: datetime | None = None
        self.last_reasons: list[str] = []
        self.keepalive_at: datetime | None = None
        self.warning: dict | None = None
        self.browser_seen: datetime | None = None
        self.saved_at: datetime | None = None
        self._callback: PeriodicCallback | None = None
        self.on_change: Callable[[], None] = lambda: None  # the reporter reports at once

    def start_sampling(self) -> None:
        if self._callback is None and self.sample_seconds > 0:
            self._callback = PeriodicCallback(self.sample, self.sample_seconds * 1000)
            self._callback.start()

    def stop_sampling(self) -> None:
        if self._callback is not None:
            self._callback.stop()
            self._callback = None

    def sample(self) -> dict:
        """Probe everything once; remember the moment if anything is working."""
        now = utcnow()
        kernels = probe_kernels(self.managers.get("kernel_manager"))
        terminals = probe_terminals(self.managers.get("terminal_manager"))
        work, work_reasons = probe_work(self.registry)
        gpu, gpu_reasons = probe_gpu(self.gpu_source, self.gpu_busy_percent)
        reasons = kernels.reasons + terminals.reasons + work_reasons + gpu_reasons
        changed = bool(reasons) != bool(self.last_reasons)
        if reasons:
            self.last_busy = now
            if reasons != self.last_reasons:
                self.log.debug("hybridhub activity: busy (%s)", "; ".join(reasons))
            if self.warning and self.warning.get("kind") == "idle":
                self.log.info("hybridhub activity: work resumed, idle warning withdrawn")
                self.warning = None
        self.last_reasons = reasons
        if changed:
            self.on_change()
        return {
            "busy": bool(reasons),
            "reasons": reasons,
            "kernels": kernels.as_dict(),
            "terminals": terminals.as_dict(),
            "work": work,
            "gpu": {"utilisation": gpu, "busy_percent": self.gpu_busy_percent},
        }

    def browser_connected(self, now: datetime) -> bool:
        return self.browser_seen is not None and now - self.browser_seen <= timedelta(seconds=self.browser_timeout_seconds)

    def keepalive_available(self) -> bool:
        if self.warning and self.warning.get("kind") == "max-age":
            return False
        return self.keepalive_at is None or (self.last_busy is not None and self.last_busy > self.keepalive_at)

    def report(self, from_browser: bool = False) -> dict:
        """The activity report sent to the culler (and polled by the frontend)."""
        now = utcnow()
        if from_browser:
            self.browser_seen = now
        sample = self.sample()
        return {
            "now": iso(now),
            "profile": self.profile,
            "idle_timeout_seconds": self.idle_timeout_seconds,
            **sample,
            "last_busy": iso(self.last_busy),
            "keepalive_at": iso(self.keepalive_at),
            "keepalive_available": self.keepalive_available(),
            "browser_connected": self.browser_connected(now),
            "warning": self.warning,
            "saved_at": iso(self.saved_at),
        }

    def keepalive(self) -> dict:
        """Grant one extension of the idle timeout, counted from now.

        One per idle period: a second keep-alive needs real work in between.
        Max age is never extended.
        """
        if self.warning and self.warning.get("kind") == "max-age":
            raise KeepAliveRefused("max_age_reached")
        if not self.keepalive_available():
            raise KeepAliveRefused("keepalive_used")
        self.keepalive_at = utcnow()
        self.warning = None
        self.log.info("hybridhub activity: keep-alive granted for %s s", self.idle_timeout_seconds)
        self.on_change()
        return {"keepalive_at": iso(self.keepalive_at), "extends_by_seconds": self.idle_timeout_seconds}

    def apply_culler_warning(self, body: dict | None) -> dict | None:
        """Hold the warning the culler answered a report with: ``cull_at`` (ISO), ``reason``,
        ``kind`` (idle, max-age) and ``state`` (pending, stopping); None withdraws it.

        An unchanged warning keeps its ``issued_at``, so the browser shows it once.
        """
        if body is None:
            if self.warning is not None:
                self.log.info("hybridhub activity: culler warning withdrawn")
            self.warning = None
            return None
        kind, state = body.get("kind", "idle"), body.get("state", "pending")
        if kind not in ("idle", "max-age") or state not in ("pending", "stopping"):
            raise ValueError("kind must be idle or max-age and state pending or stopping")
        warning = {"cull_at": iso(parse_iso(str(body["cull_at"]))), "reason": str(body.get("reason", ""))[:300], "kind": kind, "state": state}
        if self.warning and all(self.warning[k] == v for k, v in warning.items()):
            return self.warning
        self.warning = {**warning, "issued_at": iso(utcnow())}
        self.log.info("hybridhub activity: culler warning (%s) for %s: %s", state, warning["cull_at"], warning["reason"])
        return self.warning

    def mark_saved(self) -> dict:
        self.saved_at = utcnow()
        self.on_change()
        return {"saved_at": iso(self.saved_at)}
