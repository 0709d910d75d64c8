"""Turn git's stderr into a stable reason code (git runs with ``LC_ALL=C``)."""

from __future__ import annotations

from .errors import GitError

_UNREACHABLE = (
    "could not resolve host",
    "failed to connect",
    "couldn't connect",
    "connection refused",
    "connection timed out",
    "operation timed out",
    "network is unreachable",
    "no route to host",
    "empty reply from server",
    "the requested url returned error: 502",
    "the requested url returned error: 503",
    "the requested url returned error: 504",
)
_TLS = ("ssl certificate problem", "server certificate verification failed", "certificate verify failed")
UNTRUSTED = (
    "GitLab's TLS certificate is not trusted by this server. "
    "Ask your administrator to set the GitLab CA bundle (c.HybridSpawner.gitlab_ca_bundle)."
)
_AUTH = (
    "authentication failed",
    "http basic: access denied",
    "invalid username or password",
    "could not read username",
    "could not read password",
    "the requested url returned error: 401",
)
_DENIED = ("the requested url returned error: 403", "you are not allowed to push code to this project", "permission denied")


def classify(stderr: str, operation: str, gitlab_remote: bool) -> GitError:
    """The GitError for a failed git command; ``details`` keeps git's own words."""
    text = stderr.lower()
    details = stderr.strip()
    if "protected branch" in text:
        return GitError("protected_branch", details=details)
    if any(marker in text for marker in _AUTH):
        if gitlab_remote:
            return GitError("token_expired", details=details)
        return GitError(
            "access_denied",
            "The remote asked for a user name and password, and this server has no GitLab token for it.",
            details,
        )
    if any(marker in text for marker in _TLS):
        return GitError("gitlab_unreachable", UNTRUSTED, details)
    if any(marker in text for marker in _UNREACHABLE):
        return GitError("gitlab_unreachable" if gitlab_remote else "git_error", _unreachable(gitlab_remote), details)
    if any(marker in text for marker in _DENIED):
        return GitError("access_denied", details=details)
    if "[rejected]" in text and ("non-fast-forward" in text or "fetch first" in text):
        return GitError("non_fast_forward", details=details)
    if operation == "pull" and ("conflict" in text or "unmerged" in text):
        return GitError("merge_conflict", details=details)
    if "would be overwritten" in text:
        return GitError("uncommitted_changes", details=details)
    if "another git process seems to be running" in text:  # a leftover or a concurrent *.lock file
        return GitError("busy", details=details)
    if "did not match any file" in text:  # a pathspec naming nothing git knows
        return GitError("unknown_file", details=details)
    if "is outside repository" in text or "beyond a symbolic link" in text:
        return GitError("invalid_path", "The path is outside this repository.", details)
    if "file name too long" in text:
        return GitError("invalid_path", "A file or branch name is too long for the file system.", details)
    if "does not appear to be a git repository" in text or "repository not found" in text:
        return GitError("remote_not_configured", "The remote repository was not found.", details)
    return GitError("git_error", f"git {operation} failed.", details)


def _unreachable(gitlab_remote: bool) -> str | None:
    if gitlab_remote:
        return None
    return "The remote could not be reached."
