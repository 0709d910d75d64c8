"""Protected branches as GitLab applies them, to a git push and to pipeline creation.

Also the bare repositories' pre-receive hook: run as a script it reads the project's rules
(``standin-protection.json`` in the repository) and the pusher's role (``STANDIN_ACCESS_LEVEL``)
and refuses what GitLab refuses, with GitLab's messages. It imports nothing from the package,
so the hook starts quickly.

Sources reproduced (gitlabhq/gitlabhq):

* lib/gitlab/checks/branch_check.rb — the refusals and their order: deleting the default
  branch, force push, create / delete / update of a protected branch, the empty-project text;
* lib/gitlab/user_access.rb — ``can_update_branch?`` is ``can_push_to_branch? ||
  can_merge_to_branch?``; a protected branch admits the roles of its access levels;
* app/models/protected_branch.rb — in an empty repository with default-branch protection every
  branch counts as protected, and only a Maintainer (``admin_project``) may make the first push
  when the default is "fully protected" (developers' initial push not allowed);
* app/models/concerns/protected_ref.rb — names may hold ``*`` wildcards;
* the instance default "Fully protected": push and merge Maintainers, no force push
  (https://docs.gitlab.com/user/project/repository/branches/default/#protect-initial-default-branches).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass

NO_ACCESS, DEVELOPER, MAINTAINER = 0, 30, 40  # Gitlab::Access levels used by protection rules
LEVEL_DESCRIPTIONS = {NO_ACCESS: "No one", DEVELOPER: "Developers + Maintainers", MAINTAINER: "Maintainers"}
RULES_FILE = "standin-protection.json"
ZERO = "0" * 40

MESSAGES = {  # lib/gitlab/checks/branch_check.rb ERROR_MESSAGES
    "delete_default_branch": "The default branch of a project cannot be deleted.",
    "force_push_protected_branch": "You are not allowed to force push code to a protected branch on this project.",
    "non_master_delete_protected_branch": "You are not allowed to delete protected branches from this project. "
    "Only a project maintainer or owner can delete a protected branch.",
    "non_web_delete_protected_branch": "You can only delete protected branches using the web interface.",
    "push_protected_branch": "You are not allowed to push code to protected branches on this project.",
    "create_protected_branch": "You are not allowed to create protected branches on this project.",
    "non_web_create_protected_branch": "You can only create protected branches using the web interface and API.",
}


@dataclass
class ProtectedBranch:
    name: str
    push_access_level: int = MAINTAINER
    merge_access_level: int = MAINTAINER
    allow_force_push: bool = False

    def matches(self, branch: str) -> bool:
        if "*" not in self.name:
            return self.name == branch
        return re.fullmatch(".*?".join(re.escape(part) for part in self.name.split("*")), branch) is not None

    def to_json(self, number: int) -> dict:
        """GET /projects/:id/protected_branches item (https://docs.gitlab.com/api/protected_branches/)."""
        def levels(level: int) -> list[dict]:
            return [{"id": number * 10 + (level // 10), "access_level": level,
                     "access_level_description": LEVEL_DESCRIPTIONS[level], "user_id": None, "group_id": None}]  # fmt: skip

        return {"id": number, "name": self.name, "push_access_levels": levels(self.push_access_level),
                "merge_access_levels": levels(self.merge_access_level), "allow_force_push": self.allow_force_push,
                "code_owner_approval_required": False}  # fmt: skip


def rules(default_branch: str, branches: list[ProtectedBranch], empty: bool) -> dict:
    return {"default_branch": default_branch, "empty": empty, "branches": [asdict(b) for b in branches]}


def protection_for(rules_: dict, branch: str) -> ProtectedBranch | None:
    """The rule protecting ``branch``; an empty repository protects every branch like the default one."""
    found = [ProtectedBranch(**b) for b in rules_["branches"]]
    if rules_["empty"]:
        default = next((b for b in found if b.matches(rules_["default_branch"])), None)
        if default is not None:
            return default
    return next((b for b in found if b.matches(branch)), None)


def _admits(level: int, access_level: int) -> bool:
    return access_level != NO_ACCESS and level >= access_level


def can_push_to_branch(rules_: dict, level: int, branch: str) -> bool:
    if level < DEVELOPER:
        return False
    rule = protection_for(rules_, branch)
    if rule is None:
        return True
    if rules_["empty"] and level >= MAINTAINER:  # admins and admin_project may create the default branch
        return True
    return _admits(level, rule.push_access_level)


def can_merge_to_branch(rules_: dict, level: int, branch: str) -> bool:
    rule = protection_for(rules_, branch)
    if rule is None:
        return level >= DEVELOPER
    return _admits(level, rule.merge_access_level)


def can_update_branch(rules_: dict, level: int, branch: str) -> bool:
    """Gitlab::UserAccess#can_update_branch?: what pipeline creation on a branch asks."""
    return can_push_to_branch(rules_, level, branch) or can_merge_to_branch(rules_, level, branch)


def refusal(rules_: dict, level: int, old: str, new: str, branch: str, forced: bool, project: str, url: str) -> str | None:
    """GitLab's message refusing this ref update, or None (BranchCheck#validate!)."""
    if new == ZERO and branch == rules_["default_branch"]:
        return MESSAGES["delete_default_branch"]
    rule = protection_for(rules_, branch)
    if rule is None:
        return None
    if forced and not rule.allow_force_push:
        return MESSAGES["force_push_protected_branch"]
    if rules_["empty"]:
        if can_push_to_branch(rules_, level, branch):
            return None
        return (f"\nA default branch (e.g. master) does not yet exist for {project}\n"
                f"Ask a project Owner or Maintainer to create a default branch:\n\n"
                f"  {url}/{project}/-/project_members\n")  # fmt: skip
    if old == ZERO:
        if can_push_to_branch(rules_, level, branch):
            return None
        if not can_merge_to_branch(rules_, level, branch):
            return MESSAGES["create_protected_branch"]
        return MESSAGES["non_web_create_protected_branch"]
    if new == ZERO:
        return MESSAGES["non_master_delete_protected_branch" if level < MAINTAINER else "non_web_delete_protected_branch"]
    return None if can_push_to_branch(rules_, level, branch) else MESSAGES["push_protected_branch"]


def _forced(old: str, new: str) -> bool:
    if ZERO in (old, new):
        return False
    return subprocess.run(["git", "merge-base", "--is-ancestor", old, new], capture_output=True).returncode != 0


def main() -> int:
    """The pre-receive hook (cwd is the bare repository; new objects are visible in quarantine)."""
    path = os.path.join(os.environ.get("GIT_DIR", "."), RULES_FILE)
    with open(path, encoding="utf-8") as f:
        stored = json.load(f)
    heads = subprocess.run(["git", "for-each-ref", "--count=1", "refs/heads"], capture_output=True, text=True).stdout
    current = {**stored, "empty": not heads.strip()}
    level = int(os.environ.get("STANDIN_ACCESS_LEVEL", "0"))
    for line in sys.stdin:
        old, new, ref = line.split()
        if not ref.startswith("refs/heads/"):
            continue
        branch = ref[len("refs/heads/"):]
        message = refusal(current, level, old, new, branch, _forced(old, new), stored["project"],
                          os.environ.get("STANDIN_URL", "http://gitlab.example.com"))  # fmt: skip
        if message:
            print(f"GitLab: {message}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
