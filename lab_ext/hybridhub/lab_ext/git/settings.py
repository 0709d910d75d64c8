"""What the git core needs to know, independent of jupyter-server."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .runner import Credentials


def _origin(url: str) -> tuple[str, str, int | None] | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return parts.scheme, parts.hostname.lower(), port


@dataclass(frozen=True)
class GitSettings:
    gitlab_url: str = ""
    gitlab_token: str = ""
    gitlab_ca_bundle: str = ""
    gitlab_username: str = "oauth2"
    timeout: float = 30.0
    network_timeout: float = 120.0
    # renews gitlab_token through the hub (hybridhub.lab_ext.gitlab_token); None: the token is fixed
    token_source: object = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        return f"GitSettings(gitlab_url={self.gitlab_url!r}, token={'<set>' if self.token() else '<unset>'})"

    def token(self) -> str:
        """The GitLab token to use now (the renewed one once the hub gave a fresh token)."""
        return self.token_source.current() if self.token_source is not None else self.gitlab_token

    async def renew_token(self, rejected: str | None = None) -> bool:
        """Renew a token that expires soon (``rejected=None``) or that GitLab refused; True
        when there is a different token to retry with."""
        return self.token_source is not None and await self.token_source.renew(rejected)

    @property
    def gitlab_configured(self) -> bool:
        return bool(self.gitlab_url)

    def is_gitlab_remote(self, remote_url: str) -> bool:
        """True when the remote is on the configured GitLab (same scheme, host and port)."""
        if not self.gitlab_url:
            return False
        mine = _origin(self.gitlab_url)
        return mine is not None and _origin(remote_url) == mine

    def credentials_for(self, remote_url: str) -> Credentials | None:
        """The token goes only to the configured GitLab, never to another host."""
        token = self.token()
        if not self.is_gitlab_remote(remote_url) or not token:
            return None
        return Credentials(self.gitlab_username, token, self.gitlab_ca_bundle)

    def project_path(self, remote_url: str) -> str | None:
        """``group/project`` of a GitLab remote URL, or None for another remote."""
        if not self.is_gitlab_remote(remote_url):
            return None
        base = urlsplit(self.gitlab_url).path.rstrip("/")
        path = urlsplit(remote_url).path
        if base and path.startswith(base + "/"):
            path = path[len(base) :]
        path = path.strip("/")
        path = path[:-4] if path.endswith(".git") else path
        return path or None
