"""What the live checks share: one HTTP pool per system with a short deadline and no retries (the
doctor never hangs on a system that does not answer), and a failed connection turned into a verdict
(unreachable, or TLS refused) instead of a traceback."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

import certifi
import urllib3

from .check import FAIL, Context, Result
from .checks_users import _spawner_setting as spawner_setting

CONNECT_TIMEOUT = 3.0  # seconds to open a connection (a closed port answers at once, a black hole does not)
READ_TIMEOUT = 5.0  # seconds for the answer


def tls_settings(context: Context, verify_trait: str | None, ca_trait: str, hub_setting: str = "") -> tuple[dict, str]:
    """urllib3's TLS arguments for a system from the spawner's settings, and how they read in a report.

    ``hub_setting``, when given, is the CA the hub itself trusts for this system (e.g. the GitLab
    login's ``gitlab_ca_bundle``) and comes first. The spawner's CA bundle setting names a path
    inside user servers; the hub uses it when the same path exists here, else the hub's
    ``SSL_CERT_FILE`` (helm-values/jupyterhub-site.example.yaml), else the public CAs (certifi),
    and says which."""
    if verify_trait and not spawner_setting(context, verify_trait, True):
        return {"cert_reqs": "CERT_NONE"}, "TLS not verified"
    ca = hub_setting if hub_setting and os.path.isfile(hub_setting) else spawner_setting(context, ca_trait, "") or ""
    if ca and os.path.isfile(ca):
        return {"cert_reqs": "CERT_REQUIRED", "ca_certs": ca}, f"CA {ca}"
    hub_ca = context.environ.get("SSL_CERT_FILE", "")  # the site values' way to trust a private CA in the hub
    if hub_ca and os.path.isfile(hub_ca):
        return {"cert_reqs": "CERT_REQUIRED", "ca_certs": hub_ca}, f"CA {hub_ca} (SSL_CERT_FILE)"
    return {"cert_reqs": "CERT_REQUIRED", "ca_certs": certifi.where()}, "public CAs"


def pool(tls: dict) -> urllib3.PoolManager:
    if tls.get("cert_reqs") == "CERT_NONE":
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    return urllib3.PoolManager(timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT),
                               retries=False, **tls)


def connection_failure(name: str, url: str, error: Exception, system: str) -> Result | None:
    """``error`` of a request to ``url`` as a failed check (``saw_<system>_tls`` when TLS refused the
    server, ``saw_<system>_unreachable`` otherwise); ``None`` when it is not a connection error."""
    reason = getattr(error, "reason", None) or error  # urllib3 wraps it in MaxRetryError
    if isinstance(reason, urllib3.exceptions.SSLError) or isinstance(error, urllib3.exceptions.SSLError):
        return Result(name, FAIL, f"saw_{system}_tls", {"url": url, "error": _short(reason)}, f"fix_{system}_tls")
    if isinstance(error, (urllib3.exceptions.HTTPError, OSError)):
        return Result(name, FAIL, f"saw_{system}_unreachable", {"url": url, "error": _short(reason)},
                      f"fix_{system}_unreachable")
    return None


def _short(error) -> str:
    """The error's kind and words (``Connection refused``, ``certificate verify failed``), without
    object reprs (addresses) and OpenSSL's source line."""
    words = re.sub(r"<[^>]*>:?\s*|\w+\(host=[^)]*\):\s*|\s*\(_ssl\.c:\d+\)", "", str(error)).strip(" ()'\",")[:160]
    return f"{type(error).__name__}: {words}" if words else type(error).__name__


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
