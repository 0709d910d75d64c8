"""Where the console's figures come from.

- Cost: the summary file the cost service writes (``CostService.summary_path``), the same file
  the budget guard reads. A file, not the cost service's API: no token or scope to hand out, it
  still answers while the cost service restarts or re-lists the cluster, and the figures are the
  ones the guard acts on. The summary says when it was made (``generated_at``), shown on the page.
- Services (the navbar's menu) and the culler's address: the hub's API (``list:services``,
  ``read:services``).
- The culler's decisions: its JSON route ``<prefix>decisions`` with the console's own token
  (``custom:hybridhub-culler:read`` and ``access:services!service=hybridhub-culler``).
"""

from __future__ import annotations

import time
from typing import Mapping

import httpx

from hybridhub.hub_ext.cost.store import JsonStore, StoreError

SUMMARY_KEYS = ("currency", "generated_at", "month", "month_to_date", "projection", "budget", "pools", "daily",
                "servers", "by_profile")


class SourceError(Exception):
    """A source did not give figures; the message says why (no URL, no token)."""


def read_summary(path: str) -> dict:
    if not path:
        raise SourceError("ConsoleService.cost_summary_path is not set")
    try:
        summary = JsonStore(path).load()
    except StoreError as exc:
        raise SourceError(str(exc)) from None
    if summary is None:
        raise SourceError("no summary yet")
    if not isinstance(summary, dict) or any(key not in summary for key in SUMMARY_KEYS):
        raise SourceError("not a cost summary")
    return summary


class HubSources:
    """The hub's services (kept ``cache_seconds``) and the culler's decisions, with one token."""

    def __init__(self, api_url: str, token: str, culler: str, timeout: float = 5.0, cache_seconds: float = 60.0,
                 clock=time.monotonic) -> None:
        self.client = httpx.AsyncClient(headers={"Authorization": f"token {token}"}, timeout=timeout)
        self.api_url = api_url.rstrip("/") + "/"
        self.culler = culler
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._services: tuple[float, dict] | None = None

    async def services(self) -> dict[str, Mapping]:
        if self._services and self.clock() - self._services[0] < self.cache_seconds:
            return self._services[1]
        try:
            r = await self.client.get(self.api_url + "services")
            r.raise_for_status()
            models = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SourceError(f"the hub's service list: {type(exc).__name__}") from None
        self._services = (self.clock(), models)
        return models

    async def menu(self) -> list[dict]:
        """The Services menu as JupyterHub's pages build it: services with a URL, shown (``display``)."""
        try:
            models = await self.services()
        except SourceError:
            return []
        return [{"name": name, "href": m.get("prefix") or ""} for name, m in sorted(models.items())
                if m.get("url") and m.get("display", True) and m.get("prefix")]

    async def decisions(self) -> dict:
        model = (await self.services()).get(self.culler)
        if not model or not model.get("url"):
            raise SourceError(f"the hub runs no {self.culler} service with a URL")
        url = model["url"].rstrip("/") + "/" + model["prefix"].lstrip("/") + "decisions"
        try:
            r = await self.client.get(url)
            r.raise_for_status()
            body = r.json()
        except httpx.HTTPStatusError as exc:
            raise SourceError(f"{self.culler} answered HTTP {exc.response.status_code}") from None
        except (httpx.HTTPError, ValueError) as exc:
            raise SourceError(f"{self.culler}: {type(exc).__name__}") from None
        if not isinstance(body, dict):
            raise SourceError(f"{self.culler}: not a decisions document")
        return body

    async def aclose(self) -> None:
        await self.client.aclose()
