"""The console's routes: the page (admins only, through JupyterHub OAuth) and the OAuth callback.

``GET <prefix>`` renders the page in the browser's language (Accept-Language); a signed-in user
who is not an admin gets the same page frame with a translated 403 and no figure; an unknown
query parameter is a JSON 400 with reason ``unknown_query``.
"""

from __future__ import annotations

import asyncio
import json

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web

from . import compose
from .i18n import MESSAGES, pick_language, text
from .render import content_security_policy, page_context
from .sources import SourceError, read_summary


REASONS = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}


class BadQuery(web.HTTPError):
    """A 400 with a reason code machines can rely on."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message.replace("%", "%%"))
        self.code = "unknown_query"


class ConsoleHandler(HubOAuthenticated, web.RequestHandler):
    def initialize(self, console) -> None:
        self.console = console

    @property
    def lang(self) -> str:
        return pick_language(self.request.headers.get("Accept-Language"))

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        reason = getattr(exc, "code", None) or REASONS.get(status_code, "error")
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"status": status_code, "reason": reason,
                                "message": (exc.log_message if isinstance(exc, web.HTTPError) else None) or self._reason},
                               ensure_ascii=False))

    def finish_page(self, html: str, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "same-origin")
        self.set_header("Content-Security-Policy", content_security_policy(html))
        self.finish(html)

    @web.authenticated
    async def get(self) -> None:
        unknown = sorted(set(self.request.query_arguments))
        if unknown:
            raise BadQuery(text(self.lang, "bad_query", names=", ".join(unknown)))
        lang, user = self.lang, self.current_user
        menu = await self.console.sources.menu()
        frame = page_context(self.console.base_url, user, menu, self.xsrf_token.decode(), lang)
        namespace = {**frame, "t": MESSAGES[lang]}
        if not user.get("admin"):
            namespace["forbidden"] = text(lang, "forbidden")
            self.finish_page(self.console.render(namespace), 403)
            return
        namespace.update(await self.sections(lang))
        self.finish_page(self.console.render(namespace))

    async def sections(self, lang: str) -> dict:
        console = self.console
        out: dict = {}
        tz = None
        try:
            summary = read_summary(console.summary_path())
        except SourceError as exc:
            out["cost"], out["no_cost"] = None, text(lang, "no_cost", reason=str(exc))
        else:
            tz = compose.summary_zone(summary)
            out.update(cost=compose.cost_section(summary, lang), pools=compose.pools_section(summary, lang),
                       profiles=compose.servers_by_profile(summary, lang), links=await self.cost_links(),
                       warmup=compose.warmup_section(summary, lang),
                       transfer=compose.transfer_section(summary, lang))
        out["doctor"] = compose.doctor_section(console.doctor.latest, lang, tz)
        try:
            decisions = await asyncio.wait_for(console.sources.decisions(), console.request_timeout * 2)
            out["decisions"] = compose.decisions_section(decisions, lang, tz, console.recent_decisions)
        except (SourceError, asyncio.TimeoutError) as exc:
            out["decisions"], out["no_culler"] = None, text(lang, "no_culler", reason=str(exc) or "timeout")
        return out

    async def cost_links(self) -> dict:
        """The cost service's downloads (they stay where they are), at its prefix on the hub."""
        try:
            prefix = ((await self.console.sources.services()).get(self.console.cost_service) or {}).get("prefix")
        except SourceError:
            prefix = None
        prefix = prefix or url_path_join(self.console.base_url, "services", self.console.cost_service) + "/"
        return {"csv": url_path_join(prefix, "api/summary.csv"), "json": url_path_join(prefix, "api/summary"),
                "warmup": url_path_join(prefix, "warmup"), "transfer": url_path_join(prefix, "transfer")}


def make_app(prefix: str, console, cookie_secret: bytes) -> web.Application:
    return web.Application(
        [
            (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
            (prefix.rstrip("/") + "/?", ConsoleHandler, {"console": console}),
        ],
        cookie_secret=cookie_secret,
    )
