"""List + watch of one Kubernetes resource, resumed after dropped watches and 410 Gone.

:class:`ListWatch` lists (plain JSON dicts), hands the items to ``on_list``, then watches from the
list's resourceVersion and hands every ADDED / MODIFIED / DELETED object to ``on_event``.  A watch
that ends (server timeout, dropped connection) resumes from the last resourceVersion seen
(bookmarks included); a 410 Gone (the history was compacted) or any other error starts over with a
fresh list after a short back-off, so nothing is missed: ``on_list`` reconciles.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Awaitable, Callable

from kubernetes_asyncio import watch
from kubernetes_asyncio.client import ApiException

OnList = Callable[[list[dict]], Awaitable[None] | None]
OnEvent = Callable[[str, dict], Awaitable[None] | None]


async def _maybe_await(value: Any) -> None:
    if asyncio.iscoroutine(value):
        await value


async def list_items(list_fn: Callable, **kwargs: Any) -> tuple[list[dict], str]:
    """``(items, resourceVersion)`` of one full list, as plain dicts."""
    response = await list_fn(**kwargs, _preload_content=False)
    body = json.loads(await response.read())
    return body.get("items") or [], body["metadata"]["resourceVersion"]


class ListWatch:
    """``list_fn`` is a kubernetes_asyncio list method (``core.list_node``,
    ``core.list_namespaced_pod``…) and ``kwargs`` its arguments (namespace, selectors)."""

    def __init__(self, name: str, list_fn: Callable, on_list: OnList, on_event: OnEvent, *,
                 watch_timeout: int = 300, backoff: float = 1.0, max_backoff: float = 30.0,
                 log: logging.Logger | None = None, **kwargs: Any) -> None:
        self.name = name
        self.list_fn = list_fn
        self.kwargs = kwargs
        self.on_list = on_list
        self.on_event = on_event
        self.watch_timeout = watch_timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.log = log or logging.getLogger("hybridhub.cost.kube")
        self.resource_version: str | None = None
        self.lists = 0  # how many full lists were done (1 + relists)
        self.synced = asyncio.Event()

    async def list_once(self) -> None:
        items, self.resource_version = await list_items(self.list_fn, **self.kwargs)
        self.lists += 1
        await _maybe_await(self.on_list(items))
        self.synced.set()

    def prime(self, resource_version: str) -> None:
        """The caller did the first list itself: start by watching from ``resource_version``."""
        self.resource_version = resource_version
        self.lists += 1
        self.synced.set()

    async def watch_once(self) -> bool:
        """Watch until the server ends it; False when a relist is needed (410 Gone)."""
        w = watch.Watch()
        try:
            async with w.stream(self.list_fn, **self.kwargs, resource_version=self.resource_version,
                                timeout_seconds=self.watch_timeout, allow_watch_bookmarks=True) as stream:
                async for event in stream:
                    kind, obj = event["type"], event["raw_object"]
                    rv = (obj.get("metadata") or {}).get("resourceVersion")
                    if kind == "ERROR":
                        if obj.get("code") == 410:
                            return False
                        raise ApiException(status=obj.get("code"), reason=obj.get("reason"))
                    if rv:
                        self.resource_version = rv
                    if kind in ("ADDED", "MODIFIED", "DELETED"):
                        await _maybe_await(self.on_event(kind, obj))
        except ApiException as exc:
            if exc.status == 410:
                return False
            raise
        finally:
            w.stop()
        return True

    async def run(self) -> None:
        delay = self.backoff
        need_list = self.resource_version is None
        while True:
            try:
                if need_list:
                    await self.list_once()
                need_list = not await self.watch_once()
                if need_list:
                    self.log.info("%s: watch history expired (410 Gone), listing again", self.name)
                delay = self.backoff
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the API server restarting must not stop the service
                self.log.warning("%s: %s: %s; listing again in %.0f s", self.name, type(exc).__name__, exc, delay)
                need_list = True
                await asyncio.sleep(delay)
                delay = min(self.max_backoff, delay * 2)
