"""The console's page in JupyterHub's own page template (navbar, Bootstrap, Services menu, dark theme).

The loader is laid out as JupyterHub lays out its own (jupyterhub/app.py, ``init_tornado_settings``):
JupyterHub's templates under the ``templates/`` prefix, then a search path — here the console's
templates, hybridhub's hub pages (:mod:`hybridhub.hub_ext.pages`: its ``page.html`` adds the
Japanese navbar) and JupyterHub's templates. ``console.html`` extends ``page.html``.

JupyterHub's ``page.html`` writes ``<html lang="en">`` outside any block; the loader gives that
one attribute the page's language (``html_lang``) when it reads the file, and refuses a
``page.html`` without it (a JupyterHub whose template changed must be looked at, not guessed).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, TemplateNotFound

from hybridhub.hub_ext.pages import TEMPLATE_DIR as PAGES_DIR

CONSOLE_DIR = str(Path(__file__).parent / "templates")
HTML_TAG = '<html lang="en">'
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def jupyterhub_templates() -> str:
    """JupyterHub's installed templates, found the way JupyterHub finds them."""
    from jupyterhub._data import DATA_FILES_PATH

    return str(Path(DATA_FILES_PATH) / "templates")


class LanguageLoader(BaseLoader):
    """JupyterHub's templates, with ``page.html``'s ``<html lang>`` taken from ``html_lang``."""

    def __init__(self, directory: str) -> None:
        self.files = FileSystemLoader(directory)

    def get_source(self, environment, template):
        source, filename, uptodate = self.files.get_source(environment, template)
        if template == "page.html":
            if HTML_TAG not in source:
                raise TemplateNotFound(f"{template}: no {HTML_TAG} in {filename}")
            source = source.replace(HTML_TAG, '<html lang="{{ html_lang }}">', 1)
        return source, filename, uptodate


def environment(jupyterhub_dir: str | None = None) -> Environment:
    base = jupyterhub_dir or jupyterhub_templates()
    loader = ChoiceLoader([
        PrefixLoader({"templates": LanguageLoader(base)}, "/"),
        FileSystemLoader([CONSOLE_DIR, PAGES_DIR]),
        LanguageLoader(base),
    ])
    return Environment(loader=loader, autoescape=True)


def page_context(base_url: str, user: dict, services: list[dict], xsrf_token: str, language: str) -> dict:
    """What JupyterHub's ``page.html`` reads (jupyterhub/handlers/base.py, ``template_namespace``)."""
    from jupyterhub.scopes import parse_scopes

    hub = base_url.rstrip("/") + "/hub/"  # JupyterHub's ``base_url`` in templates is the hub's (…/hub/)

    def static_url(path: str, include_version: bool = True) -> str:
        return hub + "static/" + path.lstrip("/")

    name = user.get("name", "")
    return {
        "html_lang": language,
        "base_url": hub,
        "prefix": base_url,
        "static_url": static_url,
        "user": {"name": name, "json_escaped_name": json.dumps(name)[1:-1]},
        "parsed_scopes": parse_scopes(user.get("scopes") or []),
        "services": services,
        "logout_url": hub + "logout",
        "login_url": hub + "login",
        "xsrf_token": xsrf_token,
        "xsrf": xsrf_token,
        "no_spawner_check": True,
        "admin_access": False,
        "announcement": None,
        "logo_url": "",
        "version_hash": "",
    }


def script_hashes(html: str) -> list[str]:
    """CSP sources (``'sha256-…'``) of the page's inline scripts: they run, nothing injected does."""
    return [f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
            for body in INLINE_SCRIPT.findall(html)]


def content_security_policy(html: str) -> str:
    return ("default-src 'none'; script-src 'self' " + " ".join(script_hashes(html)) + "; style-src 'self'; "
            "img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
            "frame-ancestors 'self'")
