"""GitLab as the hub's identity provider: oauthenticator's GitLab login, configured for hybridhub.

See :class:`HybridGitLabOAuthenticator` and ``docs/gitlab.md``.
"""

from pathlib import Path

from .authenticator import HybridGitLabOAuthenticator

TEMPLATE_DIR = str(Path(__file__).parent / "templates")
"""Add to ``c.JupyterHub.template_paths`` for the localized "Log in with GitLab" page."""

__all__ = ["HybridGitLabOAuthenticator", "TEMPLATE_DIR"]
