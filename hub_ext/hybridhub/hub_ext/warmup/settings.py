"""``c.WarmupPolicy.*``: how the hub predicts GPU starts and how much warming it allows."""

from __future__ import annotations

from datetime import date, timedelta, tzinfo

from traitlets import Dict, Float, Int, List, TraitError, Unicode, validate
from traitlets.config import Configurable

from hybridhub.spawner.coldstarts import ColdStartHistory
from hybridhub.spawner.profiles import Pool
from hybridhub.spawner.starts import site_zone, valid_zone_name

from .calendar import WorkCalendar
from .manifest import PAUSE_IMAGE, PRIORITY_CLASS
from .predict import Rule


class WarmupPolicy(Configurable):
    """Predictive warm-up of GPU nodes (issue 21)."""

    history_file = Unicode("warmup-starts.jsonl", config=True, help="""JSON Lines file of GPU starts
        (see :mod:`hybridhub.hub_ext.warmup.history` for the format), kept next to coldstarts.json.""")
    keep_days = Int(90, config=True, help="Days of start history kept in history_file.")
    timezone = Unicode("UTC", config=True, help="""The site's time zone (an IANA name such as
        ``Asia/Tokyo``): starts are recorded and predicted in it.""")
    workdays = List(Int(), [0, 1, 2, 3, 4], config=True,
                    help="Working weekdays, Monday=0 .. Sunday=6 (default Monday to Friday).")
    holidays = List(Unicode(), [], config=True, help="""Days off that are not weekends, as ISO dates
        (``["2027-01-01", "2027-01-11"]``; list Japan's public holidays here). No warm-up on them,
        and they do not count as working days in the history.""")
    lookback_weeks = Int(4, config=True, help="How many weeks of history the prediction looks at.")
    min_days = Int(3, config=True, help="""K: a start time is likely when the person started near it
        on at least this many of the last ``of_days`` working days.""")
    of_days = Int(5, config=True, help="M: how many recent working days the prediction counts.")
    tolerance_minutes = Int(30, config=True, help="± minutes within which two starts count as the same time.")
    open_percentile = Int(50, config=True, help="""When a warm window opens: ``lead`` (the pool's
        measured cold start) before this percentile (nearest rank, 0..100) of the person's recent starts
        near the predicted time. 50 opens for the predicted (median) start; lower opens earlier, so a
        person who comes earlier than usual finds the node ready, and the node is paid for longer.""")
    grace_minutes = Int(30, config=True, help="""Minutes a warm node waits after the predicted start
        before it is released (the window's end).""")
    max_warm_nodes = Int(None, allow_none=True, config=True, help="""Most nodes warmed at once in one pool
        (see max_warm_nodes_per_pool). Each likely start gets its own node for its own window, so this
        many people who may start at the same time each find one; a start beyond it shares the node
        that frees first. None (the default): the pool's own max_nodes. The budget stop bounds the cost.""")
    max_warm_nodes_per_pool = Dict(value_trait=Int(), config=True, help="""Per-pool override of
        max_warm_nodes, e.g. ``{"gpua10large": 0}`` never warms the large pool.""")
    intent_min_interval_seconds = Int(900, config=True, help="""One warm-up on intent (a GPU profile
        chosen on the spawn form) per user within this many seconds.""")
    intent_hold_seconds = Int(900, config=True, help="""How long a node warmed on intent is priced
        for (and kept) while the user finishes the form.""")
    priority_class = Unicode(PRIORITY_CLASS, config=True, help="""PriorityClass of the placeholder pods;
        its value must be below the user pods' so that they preempt the placeholders.""")
    pause_image = Unicode(PAUSE_IMAGE, config=True, help="Image of the placeholder pods' pause container.")
    log_file = Unicode("warmup-log.jsonl", config=True, help="""JSON Lines file of every warm-up that happened:
        pool, window, node-seconds, cost, used or wasted, waiting saved (format in
        :mod:`hybridhub.hub_ext.warmup.actuator_log`); the cost page reads it.""")
    node_join_factor = Float(3.0, config=True, help="""A placeholder whose node has not joined after the
        pool's cold-start median times this is removed (the user's real spawn then proceeds as from zero).
        Keep it equal to ``c.HybridKubeSpawner.node_deadline_factor``.""")
    tick_seconds = Float(15.0, config=True, help="""Seconds between two looks at the placeholders: how soon
        a window starts or ends, and how soon a placeholder beside a user pod is deleted.""")

    @validate("timezone")
    def _valid_zone(self, proposal):
        return valid_zone_name(proposal["value"], "timezone")

    @validate("holidays")
    def _valid_holidays(self, proposal):
        for text in proposal["value"]:
            try:
                date.fromisoformat(text)
            except ValueError:
                raise TraitError(f"holidays: {text!r} is not a date (YYYY-MM-DD)") from None
        return proposal["value"]

    @validate("open_percentile")
    def _valid_percentile(self, proposal):
        if not 0 <= proposal["value"] <= 100:
            raise TraitError("open_percentile: use 0 .. 100")
        return proposal["value"]

    @validate("workdays")
    def _valid_workdays(self, proposal):
        if any(not 0 <= d <= 6 for d in proposal["value"]):
            raise TraitError("workdays: use 0 (Monday) .. 6 (Sunday)")
        return proposal["value"]

    def zone(self) -> tzinfo:
        return site_zone(self.timezone)

    def calendar(self) -> WorkCalendar:
        return WorkCalendar.from_config(self.workdays, self.holidays)

    def rule(self) -> Rule:
        return Rule(self.lookback_weeks, self.min_days, self.of_days, timedelta(minutes=self.tolerance_minutes),
                    timedelta(minutes=self.grace_minutes), self.open_percentile)

    def max_nodes(self, pools: dict[str, Pool]) -> dict[str, int]:
        """Per GPU pool: the configured cap, never above the pool's own max_nodes."""
        default = lambda pool: pool.max_nodes if self.max_warm_nodes is None else self.max_warm_nodes  # noqa: E731
        return {name: min(int(self.max_warm_nodes_per_pool.get(name, default(pool))), pool.max_nodes)
                for name, pool in pools.items() if pool.has_gpu}


def lead_seconds(pools: dict[str, Pool], coldstarts: ColdStartHistory) -> dict[str, float]:
    """Per pool: the measured cold-start median, or the pool's usual time before any is measured."""
    return {name: coldstarts.eta(name, pool.usual_cold_start_seconds) for name, pool in pools.items()}
