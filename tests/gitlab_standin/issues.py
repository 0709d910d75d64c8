"""TEST DOUBLE of GitLab's project issues and issue notes (comments): the subset the monitoring
job's ml/retrain.py uses. Install with ``issues = install(gitlab)``.

Reproduced from gitlabhq:
* lib/api/issues.rb + doc/api/issues.md: ``GET /projects/:id/issues`` (``state`` opened|closed|all,
  default all; ``labels`` comma-separated, an issue must carry every one; ``search`` in the title or
  the description; ``order_by`` created_at|updated_at, default created_at; ``sort`` default desc),
  ``GET/PUT /projects/:id/issues/:issue_iid`` (PUT needs at least one attribute; ``state_event``
  close|reopen), ``POST /projects/:id/issues`` (``title`` required: 400 "title is missing");
  answers Entities::IssueBasic / Entities::Issue (trimmed to documented fields);
* lib/api/notes.rb + doc/api/notes.md: ``GET/POST /projects/:id/issues/:issue_iid/notes`` (``body``
  required; list ``sort`` default desc, ``order_by`` created_at|updated_at), Entities::Note;
* doc/user/permissions.md (project members, private project): Guests may view issues, create issues
  and comment; editing an issue is Reporter+ or its author (doc/user/project/issues/managing_issues.md
  "Edit an issue"); app/services/issuable_base_service.rb ``filter_params``: labels of a user who may
  not set issue metadata (below Reporter) are dropped, not refused; lib/api/helpers.rb
  ``find_project!``: a project the user is not a member of is 404 "404 Project Not Found".
Writes need the ``api`` scope (403 insufficient_scope otherwise, as every write of the API).
Strict: attributes GitLab knows but this double does not are violations, like unknown paths.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from . import api
from .ci_state import _iso
from .state import GUEST, REPORTER

_PAGE = ["page", "per_page"]
_CREATE = {"title", "description", "labels", "confidential"}
_UPDATE = {"title", "description", "labels", "state_event"}
_NOTE = {"body"}  # internal/confidential notes (Reporter+) are not in this double


@dataclass(eq=False)
class Note:
    id: int
    issue: "Issue"
    body: str
    author_id: int
    created: float
    internal: bool = False


@dataclass(eq=False)
class Issue:
    id: int
    iid: int
    project_id: int
    title: str
    description: str
    author_id: int
    created: float
    updated: float
    labels: list[str] = field(default_factory=list)
    state: str = "opened"
    closed: float | None = None
    closed_by: int | None = None
    confidential: bool = False
    notes: list[Note] = field(default_factory=list)


class IssuesState:
    def __init__(self, gitlab) -> None:
        self.gitlab = gitlab
        self.issues: list[Issue] = []
        self.ids = itertools.count(5000)

    def of(self, project_id: int) -> list[Issue]:
        return [i for i in self.issues if i.project_id == project_id]

    def now(self) -> float:
        return self.gitlab.world.clock.now()

    # ---- JSON shapes ------------------------------------------------------------------------
    def user_json(self, user_id: int | None) -> dict | None:
        """Entities::UserBasic."""
        user = self.gitlab.world.users.get(user_id) if user_id else None
        if user is None:
            return None
        return {"id": user.id, "username": user.username, "name": user.name, "state": "active", "locked": False,
                "avatar_url": None, "web_url": f"{self.gitlab.url}/{user.username}"}  # fmt: skip

    def issue_json(self, issue: Issue) -> dict:
        """Entities::IssueBasic (what lists answer) with Entities::Issue's ``subscribed`` left out."""
        project = self.gitlab.world.projects[issue.project_id]
        web = f"{self.gitlab.url}/{project.path_with_namespace}/-/issues/{issue.iid}"
        return {
            "id": issue.id, "iid": issue.iid, "project_id": issue.project_id, "title": issue.title,
            "description": issue.description, "state": issue.state, "created_at": _iso(issue.created),
            "updated_at": _iso(issue.updated), "closed_at": _iso(issue.closed),
            "closed_by": self.user_json(issue.closed_by), "labels": list(issue.labels), "milestone": None,
            "assignees": [], "assignee": None, "author": self.user_json(issue.author_id), "type": "ISSUE",
            "issue_type": "issue", "user_notes_count": len(issue.notes), "merge_requests_count": 0,
            "upvotes": 0, "downvotes": 0, "due_date": None, "confidential": issue.confidential,
            "discussion_locked": None, "web_url": web,
            "references": {"short": f"#{issue.iid}", "relative": f"#{issue.iid}",
                           "full": f"{project.path_with_namespace}#{issue.iid}"},
            "has_tasks": False, "task_status": "", "task_completion_status": {"count": 0, "completed_count": 0},
        }  # fmt: skip

    def note_json(self, note: Note) -> dict:
        """Entities::Note (doc/api/notes.md)."""
        return {
            "id": note.id, "type": None, "body": note.body, "attachment": None,
            "author": self.user_json(note.author_id), "created_at": _iso(note.created),
            "updated_at": _iso(note.created), "system": False, "noteable_id": note.issue.id,
            "noteable_type": "Issue", "project_id": note.issue.project_id, "noteable_iid": note.issue.iid,
            "resolvable": False, "confidential": note.internal, "internal": note.internal, "imported": False,
            "imported_from": "none",
        }  # fmt: skip


def install(gitlab) -> IssuesState:
    gitlab.issues = IssuesState(gitlab)
    gitlab.routes = gitlab.routes + ROUTES
    return gitlab.issues


def _json(data, status=200, headers=None):
    from .server import Response

    return Response.json(data, status, headers)


def _member(gitlab, request, ref, scopes=api.READ_SCOPES):
    """(user, project) or (GitLab's answer, None); Guest is the least role that sees issues."""
    user, project = api._project(gitlab, request, ref, scopes)
    if project is not None and project.level(user) < GUEST:
        return _json({"message": "404 Project Not Found"}, 404), None
    return user, project


def _issue(gitlab, project, iid: str) -> Issue | None:
    return next((i for i in gitlab.issues.of(project.id) if i.iid == int(iid)), None)


def _find(gitlab, request, ref, iid, scopes=api.READ_SCOPES):
    """(user, project, issue) or (GitLab's answer, None, None)."""
    user, project = _member(gitlab, request, ref, scopes)
    if project is None:
        return user, None, None
    issue = _issue(gitlab, project, iid)
    if issue is None:
        return _json({"message": "404 Issue Not Found"}, 404), None, None
    return user, project, issue


def _body(gitlab, request, known: set, what: str) -> dict:
    body = request.json()
    unknown = set(body) - known
    if unknown:
        raise gitlab.violation(400, f"unsupported {what} attribute(s) {sorted(unknown)}")
    return body


def _labels(value) -> list[str]:
    """``labels``: a comma-separated string (lib/api/issues.rb), or an array."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    return [s.strip() for s in items if s.strip()]


def _sorted(request, items: list, key) -> list | None:
    order, sort = request.param("order_by", "created_at"), request.param("sort", "desc")
    if order not in ("created_at", "updated_at") or sort not in ("asc", "desc"):
        return None
    return sorted(items, key=lambda x: (key(x, order), x.id), reverse=sort == "desc")


def list_issues(gitlab, request, ref):
    user, project = _member(gitlab, request, ref)
    if project is None:
        return user
    state = request.param("state", "all")
    if state not in ("opened", "closed", "all"):
        return _json({"error": "state does not have a valid value"}, 400)
    wanted = _labels(request.param("labels"))
    search = (request.param("search") or "").lower()
    found = [i for i in gitlab.issues.of(project.id)
             if state in ("all", i.state) and set(wanted) <= set(i.labels)
             and (not search or search in i.title.lower() or search in i.description.lower())]  # fmt: skip
    ordered = _sorted(request, found, lambda i, o: i.created if o == "created_at" else i.updated)
    if ordered is None:
        return _json({"error": "order_by, sort does not have a valid value"}, 400)
    return api._page(request, [gitlab.issues.issue_json(i) for i in ordered])


def get_issue(gitlab, request, ref, iid):
    answer, _, issue = _find(gitlab, request, ref, iid)
    return answer if issue is None else _json(gitlab.issues.issue_json(issue))


def create_issue(gitlab, request, ref):
    user, project = _member(gitlab, request, ref, {"api"})
    if project is None:
        return user
    body = _body(gitlab, request, _CREATE, "issue")
    if not body.get("title"):
        return _json({"error": "title is missing"}, 400)
    state, now = gitlab.issues, gitlab.issues.now()
    with gitlab.world.lock:
        iid = max((i.iid for i in state.of(project.id)), default=0) + 1
        issue = Issue(next(state.ids), iid, project.id, body["title"], body.get("description") or "", user.id, now, now,
                      # filter_params: below Reporter (set_issue_metadata) the labels are dropped
                      labels=_labels(body.get("labels")) if project.level(user) >= REPORTER else [],
                      confidential=str(body.get("confidential", "false")).lower() == "true")  # fmt: skip
        state.issues.append(issue)
    return _json(state.issue_json(issue), 201)


def update_issue(gitlab, request, ref, iid):
    user, project, issue = _find(gitlab, request, ref, iid, {"api"})
    if issue is None:
        return user
    body = _body(gitlab, request, _UPDATE, "issue")
    if not body:  # at_least_one_of (lib/api/issues.rb)
        return _json({"error": "title, description, labels, state_event are missing, "
                               "at least one parameter must be provided"}, 400)  # fmt: skip
    if body.get("state_event") not in (None, "close", "reopen"):
        return _json({"error": "state_event does not have a valid value"}, 400)
    if project.level(user) < REPORTER and issue.author_id != user.id:  # authorize! :update_issue
        return _json({"message": "403 Forbidden"}, 403)
    with gitlab.world.lock:
        now = gitlab.issues.now()
        if "title" in body:
            issue.title = body["title"]
        if "description" in body:
            issue.description = body["description"] or ""
        if "labels" in body and project.level(user) >= REPORTER:
            issue.labels = _labels(body["labels"])
        if body.get("state_event") == "close" and issue.state == "opened":
            issue.state, issue.closed, issue.closed_by = "closed", now, user.id
        elif body.get("state_event") == "reopen" and issue.state == "closed":
            issue.state, issue.closed, issue.closed_by = "opened", None, None
        issue.updated = now
    return _json(gitlab.issues.issue_json(issue))


def list_notes(gitlab, request, ref, iid):
    answer, _, issue = _find(gitlab, request, ref, iid)
    if issue is None:
        return answer
    ordered = _sorted(request, issue.notes, lambda n, o: n.created)
    if ordered is None:
        return _json({"error": "order_by, sort does not have a valid value"}, 400)
    return api._page(request, [gitlab.issues.note_json(n) for n in ordered])


def create_note(gitlab, request, ref, iid):
    user, _, issue = _find(gitlab, request, ref, iid, {"api"})
    if issue is None:
        return user
    body = _body(gitlab, request, _NOTE, "note")
    if not body.get("body"):
        return _json({"error": "body is missing"}, 400)
    if len(body["body"]) > 1_000_000:  # doc/api/notes.md: "Limited to 1,000,000 characters"
        return _json({"message": {"note": ["is too long (maximum is 1000000 characters)"]}}, 400)
    with gitlab.world.lock:
        now = gitlab.issues.now()
        note = Note(next(gitlab.issues.ids), issue, body["body"], user.id, now)
        issue.notes.append(note)
        issue.updated = now
    return _json(gitlab.issues.note_json(note), 201)


_P = r"/api/v4/projects/([^/]+)/issues"
ROUTES = [
    ("GET", _P, list_issues, ["state", "labels", "search", "order_by", "sort", *_PAGE]),
    ("POST", _P, create_issue, []),
    ("GET", _P + r"/(\d+)", get_issue, []),
    ("PUT", _P + r"/(\d+)", update_issue, []),
    ("GET", _P + r"/(\d+)/notes", list_notes, ["order_by", "sort", *_PAGE]),
    ("POST", _P + r"/(\d+)/notes", create_note, []),
]
