"""Stable reason codes for the commit & push panel.

The server answers ``{"message": <English>, "reason": <code>}``; the frontend shows a
translated text chosen by ``reason`` (with what to do). Codes are part of the API: they never
change meaning. Messages never contain a token.
"""

from __future__ import annotations

from ..reasons import ReasonError

# reason code -> (HTTP status, English message with what to do)
REASONS: dict[str, tuple[int, str]] = {
    "invalid_request": (400, "The request is not valid."),
    "invalid_path": (400, "The path is outside the workspace."),
    "not_a_repository": (404, "This folder is not inside a git repository."),
    "no_such_folder": (404, "That folder does not exist in the workspace."),
    "unknown_file": (400, "git does not know that file: it is neither in the folder nor in the repository."),
    "nothing_to_commit": (409, "There is nothing staged to commit. Stage changed files first."),
    "empty_message": (400, "Write a commit message first."),
    "invalid_branch_name": (400, "That is not a valid branch name."),
    "branch_exists": (409, "A branch with that name already exists."),
    "no_such_branch": (404, "That branch does not exist."),
    "uncommitted_changes": (409, "Your uncommitted changes would be overwritten. Commit them first, then switch."),
    "remote_not_configured": (409, "This repository has no remote to push to or pull from."),
    "non_fast_forward": (
        409,
        "The remote has commits that you do not have yet. Pull first, then push again.",
    ),
    "protected_branch": (
        403,
        "This branch is protected on GitLab. Create a new branch, push it and open a merge request.",
    ),
    "merge_conflict": (
        409,
        "Pulling produced conflicts. Resolve them in the listed files, stage them and commit.",
    ),
    "token_expired": (
        401,
        "GitLab did not accept your access token (it may have expired). "
        "Stop and start your server from the hub control panel to get a fresh one.",
    ),
    "access_denied": (403, "GitLab refused this action for your account."),
    "gitlab_unreachable": (
        503,
        "GitLab could not be reached. Check the network or try again later; your commits are kept locally.",
    ),
    "gitlab_not_configured": (
        409,
        "GitLab is not configured on this hub, so this action is not available. "
        "Commits, push and pull to the repository's remote still work.",
    ),
    "gitlab_error": (502, "GitLab answered with an error."),
    "no_such_project": (404, "That GitLab project does not exist or you cannot access it."),
    "merge_request_exists": (409, "An open merge request for this branch already exists."),
    "destination_exists": (409, "A file or folder with that name already exists in the workspace."),
    "git_timeout": (504, "The git command took too long and was stopped. Try again."),
    "busy": (409, "Another git operation is running in this repository. Wait for it to finish."),
    "git_error": (500, "git failed."),
}


class GitError(ReasonError):
    REASONS = REASONS
