"""Budget guard: refuse to start a GPU profile when the month's projected cost is over budget.

In ``jupyterhub_config.py``::

    from hybridhub.hub_ext.cost.guard import budget_pre_spawn_hook
    c.Spawner.pre_spawn_hook = budget_pre_spawn_hook
    c.BudgetGuard.summary_path = "/srv/jupyterhub/hybridhub-cost-summary.json"

It reads the cost service's latest summary — the file the service writes
(``c.BudgetGuard.summary_path``) or its JSON API (``c.BudgetGuard.summary_url`` with a token
carrying ``custom:hybridhub-cost:read``) — and refuses with a translated 403 naming the budget
and the projection.  Admins are exempt; which profiles are guarded is configurable.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from fractions import Fraction
from typing import Any, Mapping

from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from traitlets import Bool, Enum, Float, List, Unicode
from traitlets.config import LoggingConfigurable

from hybridhub.spawner.profiles import ProfileCatalog

from .i18n import pick_language, text
from .money import format_amount
from .store import JsonStore, StoreError


class SummaryUnavailable(Exception):
    pass


class BudgetGuard(LoggingConfigurable):
    summary_path = Unicode("", config=True, help="""The summary file the cost service writes
        (its ``c.CostService.summary_path``). Used when ``summary_url`` is empty.""")
    summary_url = Unicode("", config=True, help="""The cost service's summary API, e.g.
        ``http://127.0.0.1:10101/services/hybridhub-cost/api/summary``; needs ``api_token``.""")
    api_token = Unicode("", config=True, help="""Token for ``summary_url``: a service token with the
        scope ``custom:hybridhub-cost:read`` (and access to the cost service). Never logged.""")
    profiles = List(Unicode(), default_value=None, allow_none=True, config=True, help="""Slugs of the
        profiles the guard may refuse. None (the default): every profile with a GPU. Example::

            c.BudgetGuard.profiles = ["gpu-a10-large"]   # only the large GPU profile
        """)
    exempt_admins = Bool(True, config=True, help="Admins may always start any profile.")
    max_age_seconds = Float(3600.0, config=True, help="A summary older than this is treated as unavailable.")
    when_unavailable = Enum(["allow", "refuse"], "allow", config=True, help="""What to do when the
        figures cannot be read or are stale: 'allow' (log a warning) or 'refuse'.""")
    timeout = Float(5.0, config=True, help="Timeout of the request to ``summary_url``, seconds.")
    language = Unicode("en", config=True, help="Language of the message when the request gives none.")

    def guarded(self, catalog: ProfileCatalog, slug: str) -> bool:
        if self.profiles is not None:
            return slug in self.profiles
        profile = catalog.get(slug)
        return bool(profile and profile.gpus > 0)

    async def load_summary(self) -> Mapping[str, Any]:
        if self.summary_url:
            request = HTTPRequest(self.summary_url, headers={"Authorization": f"token {self.api_token}"},
                                  request_timeout=self.timeout)
            try:
                response = await AsyncHTTPClient().fetch(request)
                summary = json.loads(response.body)
            except (HTTPClientError, OSError, ValueError) as exc:
                raise SummaryUnavailable(f"{type(exc).__name__} from the cost service") from None
        elif self.summary_path:
            try:
                summary = JsonStore(self.summary_path).load()
            except StoreError as exc:
                raise SummaryUnavailable(str(exc)) from None
            if summary is None:
                raise SummaryUnavailable("no summary yet")
        else:
            raise SummaryUnavailable("neither BudgetGuard.summary_path nor summary_url is set")
        try:
            generated = datetime.fromisoformat(summary["generated_at"].replace("Z", "+00:00")).timestamp()
            summary["budget"]["level"], summary["projection"]["total"]  # noqa: B018 - shape check
        except (KeyError, TypeError, ValueError, AttributeError):
            raise SummaryUnavailable("not a cost summary") from None
        if time.time() - generated > self.max_age_seconds:
            raise SummaryUnavailable(f"the figures are older than {self.max_age_seconds:g} s")
        return summary

    async def check(self, slug: str, is_admin: bool, catalog: ProfileCatalog, lang: str) -> None:
        """Raise ``HTTPError(403)`` when ``slug`` may not start now; return otherwise."""
        if (is_admin and self.exempt_admins) or not self.guarded(catalog, slug):
            return
        try:
            summary = await self.load_summary()
        except SummaryUnavailable as exc:
            if self.when_unavailable == "refuse":
                raise web.HTTPError(403, text(lang, "guard_no_data", profile=slug, reason=str(exc))) from None
            self.log.warning("budget guard: figures unavailable (%s); allowing profile %s", exc, slug)
            return
        if summary["budget"]["level"] == "over":
            message = text(lang, "guard_refused", profile=slug, projected=_grouped(summary["projection"]["total"]),
                           budget=_grouped(summary["budget"]["amount"]), currency=summary.get("currency", ""))
            self.log.info("budget guard: refused profile %s (projection %s over budget %s)", slug,
                          summary["projection"]["total"], summary["budget"]["amount"])
            raise web.HTTPError(403, message)


def _grouped(amount: str) -> str:
    """``"100000.00"`` → ``"100,000.00"``."""
    return format_amount(Fraction(amount))


def _language(spawner, guard: BudgetGuard) -> str:
    handler = getattr(spawner, "handler", None)
    header = handler.request.headers.get("Accept-Language") if handler is not None else None
    return pick_language(header) if header else guard.language


async def budget_pre_spawn_hook(spawner) -> None:
    """``c.Spawner.pre_spawn_hook``: the budget guard for this spawn."""
    guard = BudgetGuard(parent=spawner)
    catalog = getattr(spawner, "catalog", None) or ProfileCatalog(parent=spawner)
    slug = (spawner.user_options or {}).get("profile") or catalog.default_profile().slug
    await guard.check(slug, bool(spawner.user.admin), catalog, _language(spawner, guard))
