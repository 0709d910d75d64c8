"""The GitLab REST v4 subset: user, version, groups and members, projects, merge requests,
protected branches. JSON shapes follow https://docs.gitlab.com/api/ (trimmed to documented
fields); authentication is the OAuth Bearer token, with GitLab's 401/403 bodies.
"""

from __future__ import annotations

import time
from urllib.parse import unquote

from .state import DEVELOPER, MAINTAINER

READ_SCOPES = {"api", "read_api"}
USER_SCOPES = {"api", "read_api", "read_user"}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def authenticate(gitlab, request, scopes: set[str]):
    """The token's user, or a Response with GitLab's 401/403 answer."""
    from .server import Response

    header = request.headers.get("authorization", "")
    value = header[7:] if header.startswith("Bearer ") else request.headers.get("private-token")
    token = gitlab.world.tokens.get(value or "")
    if token is None:
        return Response.json({"message": "401 Unauthorized"}, 401)
    if token.revoked or token.expired:
        description = (
            "Token was revoked. You have to re-authorize from the user."
            if token.revoked
            else "Token is expired. You can either do re-authorization or token refresh."
        )
        return Response.json(
            {"error": "invalid_token", "error_description": description},
            401,
            {"WWW-Authenticate": f'Bearer realm="Protected by OAuth 2", error="invalid_token", error_description="{description}"'},
        )
    if not scopes & set(token.scopes):
        return Response.json(
            {
                "error": "insufficient_scope",
                "error_description": "The request requires higher privileges than provided by the access token.",
                "scope": " ".join(sorted(scopes)),
            },
            403,
        )
    return token.user


def _page(request, items: list):
    from .server import Response

    per_page = min(int(request.param("per_page", "20")), 100)
    page = max(int(request.param("page", "1")), 1)
    total_pages = max((len(items) + per_page - 1) // per_page, 1)
    chunk = items[(page - 1) * per_page : page * per_page]
    headers = {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Total": str(len(items)),
        "X-Total-Pages": str(total_pages),
        "X-Next-Page": str(page + 1) if page < total_pages else "",
        "X-Prev-Page": str(page - 1) if page > 1 else "",
    }
    return Response.json(chunk, 200, headers)


def _flag(request, name: str) -> bool:
    return (request.param(name) or "").lower() == "true"


def current_user(gitlab, request):
    from .server import Response

    user = authenticate(gitlab, request, USER_SCOPES)
    return user if isinstance(user, Response) else Response.json(user.to_json(gitlab.url))


def version(gitlab, request):
    from .server import Response

    user = authenticate(gitlab, request, USER_SCOPES)
    return user if isinstance(user, Response) else Response.json({"version": "17.5.1-ee", "revision": "standin"})


def groups(gitlab, request):
    from .server import Response

    user = authenticate(gitlab, request, READ_SCOPES | {"read_user"})
    if isinstance(user, Response):
        return user
    min_level = int(request.param("min_access_level", "10"))
    mine = [g for g in gitlab.world.groups.values() if g.members.get(user.id, 0) >= min_level]
    return _page(request, [g.to_json(gitlab.url) for g in sorted(mine, key=lambda g: g.path)])


def group_member(gitlab, request, group_ref, user_id):
    from .server import Response

    user = authenticate(gitlab, request, READ_SCOPES)
    if isinstance(user, Response):
        return user
    group_ref = unquote(group_ref)
    group = next((g for g in gitlab.world.groups.values() if group_ref in (str(g.id), g.path)), None)
    if group is None or user.id not in group.members:
        return Response.json({"message": "404 Group Not Found"}, 404)
    member = gitlab.world.users.get(int(user_id))
    if member is None or member.id not in group.members:
        return Response.json({"message": "404 Not found"}, 404)
    return Response.json(
        {"id": member.id, "username": member.username, "name": member.name, "state": "active", "access_level": group.members[member.id]}
    )


def _project(gitlab, request, ref, scopes=READ_SCOPES):
    from .server import Response

    user = authenticate(gitlab, request, scopes)
    if isinstance(user, Response):
        return user, None
    project = gitlab.world.project_by_ref(unquote(ref))
    if project is None or user.id not in project.members:
        return Response.json({"message": "404 Project Not Found"}, 404), None
    return user, project


def projects(gitlab, request):
    from .server import Response

    user = authenticate(gitlab, request, READ_SCOPES)
    if isinstance(user, Response):
        return user
    if request.param("membership") not in (None, "true", "True"):
        raise gitlab.violation(400, "only membership=true listings are supported")
    search = (request.param("search") or "").lower()
    found = [
        p.to_json(gitlab.url)
        for p in gitlab.world.projects.values()
        if user.id in p.members and search in p.path_with_namespace.lower()
    ]
    return _page(request, found)


def project(gitlab, request, ref):
    """GET /projects/:id: the project with the user's ``permissions`` (doc/api/projects.md "Get a
    single project", Entities::ProjectWithAccess): the direct membership of the project and of its
    group, ``{"access_level", "notification_level"}`` or null."""
    from .server import Response

    user, found = _project(gitlab, request, ref)
    if found is None:
        return user
    group = next((g for g in gitlab.world.groups.values() if g.path == found.namespace), None)

    def access(level):
        return {"access_level": level, "notification_level": 3} if level else None

    permissions = {"project_access": access(found.members.get(user.id)),
                   "group_access": access(group.members.get(user.id) if group else None)}  # fmt: skip
    answer = {**found.to_json(gitlab.url), "permissions": permissions}
    # lib/api/entities/project.rb: the CI/CD settings only for users with admin_project (Maintainer+)
    level = max(found.members.get(user.id, 0), group.members.get(user.id, 0) if group else 0)
    if level >= MAINTAINER:
        answer["ci_forward_deployment_enabled"] = found.ci_forward_deployment_enabled
        answer["ci_forward_deployment_rollback_allowed"] = found.ci_forward_deployment_rollback_allowed
    return Response.json(answer)


def _mr_json(gitlab, project, mr) -> dict:
    return {**mr, "web_url": f"{gitlab.url}/{project.path_with_namespace}/-/merge_requests/{mr['iid']}"}


def list_merge_requests(gitlab, request, ref):
    user, found = _project(gitlab, request, ref)
    if found is None:
        return user
    keep = [
        _mr_json(gitlab, found, mr)
        for mr in found.merge_requests
        if all(request.param(k) in (None, mr[k]) for k in ("source_branch", "target_branch", "state"))
    ]
    return _page(request, keep)


def create_merge_request(gitlab, request, ref):
    from .server import Response

    user, found = _project(gitlab, request, ref, {"api"})
    if found is None:
        return user
    if found.members.get(user.id, 0) < DEVELOPER:
        return Response.json({"message": "403 Forbidden"}, 403)
    data = request.json()
    unknown = set(data) - {"source_branch", "target_branch", "title", "description", "remove_source_branch", "squash"}
    if unknown:
        raise gitlab.violation(400, f"unsupported merge request field(s) {sorted(unknown)}")
    for name in ("source_branch", "target_branch", "title"):
        if not data.get(name):
            return Response.json({"error": f"{name} is missing"}, 400)
    source, target = data["source_branch"], data["target_branch"]
    if source == target:
        return Response.json({"message": ["You can't use same project/branch for source and target"]}, 422)
    for branch in (source, target):
        if not found.has_branch(branch):
            return Response.json({"message": [f"Branch '{branch}' does not exist"]}, 422)
    with gitlab.world.lock:
        for mr in found.merge_requests:
            if mr["state"] == "opened" and mr["source_branch"] == source and mr["target_branch"] == target:
                return Response.json(
                    {"message": [f"Another open merge request already exists for this source branch: !{mr['iid']}"]}, 409
                )
        iid = len(found.merge_requests) + 1
        mr = {
            "id": 1000 + found.id * 100 + iid,
            "iid": iid,
            "project_id": found.id,
            "title": data["title"],
            "description": data.get("description") or "",
            "state": "opened",
            "created_at": _now(),
            "updated_at": _now(),
            "target_branch": target,
            "source_branch": source,
            "source_project_id": found.id,
            "target_project_id": found.id,
            "author": {"id": user.id, "username": user.username, "name": user.name, "state": "active"},
            "draft": False,
            "merge_status": "checking",
            "detailed_merge_status": "checking",
            "references": {"short": f"!{iid}", "full": f"{found.path_with_namespace}!{iid}"},
        }
        found.merge_requests.append(mr)
    return Response.json(_mr_json(gitlab, found, mr), 201)


def protected_branches(gitlab, request, ref):
    user, found = _project(gitlab, request, ref)
    if found is None:
        return user
    items = [rule.to_json(found.id * 100 + i) for i, rule in enumerate(found.protected_branches.values(), 1)]
    return _page(request, sorted(items, key=lambda b: b["name"]))


def _runner_filter(gitlab, request, runners: list) -> list:
    """The list filters of doc/api/runners.md: ``type``, ``status`` (online/offline here), ``paused``
    and ``tag_list`` (comma-separated; a runner must carry all of them: app/finders/ci/runners_finder.rb
    ``tagged_with``)."""
    kind, status, paused = request.param("type"), request.param("status"), request.param("paused")
    tags = [t for t in (request.param("tag_list") or "").split(",") if t]
    if status not in (None, "online", "offline", "stale", "never_contacted"):
        return None
    return [r for r in runners
            if kind in (None, r.runner_type)
            and status in (None, "online" if r.online else "offline")
            and paused in (None, "true" if r.paused else "false")
            and set(tags) <= set(r.tag_list)]


def all_runners(gitlab, request):
    """``GET /runners/all``: every runner, administrators only (403 "403 Forbidden" for others,
    lib/api/helpers.rb ``authenticated_as_admin!``)."""
    from .server import Response

    user = authenticate(gitlab, request, READ_SCOPES)
    if isinstance(user, Response):
        return user
    if user.id not in gitlab.world.admins:
        return Response.json({"message": "403 Forbidden"}, 403)
    found = _runner_filter(gitlab, request, gitlab.world.runners)
    if found is None:
        return Response.json({"error": "status does not have a valid value"}, 400)
    return _page(request, [r.to_json() for r in found])


def owned_runners(gitlab, request):
    """``GET /runners``: the runners of the projects and groups the user owns (instance runners to
    administrators only, doc/api/runners.md "List owned runners")."""
    from .server import Response

    user = authenticate(gitlab, request, READ_SCOPES)
    if isinstance(user, Response):
        return user
    mine = [r for r in gitlab.world.runners if user.id in r.owners
            or (r.runner_type == "instance_type" and user.id in gitlab.world.admins)]
    found = _runner_filter(gitlab, request, mine)
    if found is None:
        return Response.json({"error": "status does not have a valid value"}, 400)
    return _page(request, [r.to_json() for r in found])


_PAGE = ["per_page", "page"]
_RUNNER_FILTERS = ["type", "status", "paused", "tag_list", *_PAGE]
ROUTES = [
    ("GET", r"/api/v4/user", current_user, []),
    ("GET", r"/api/v4/version", version, []),
    ("GET", r"/api/v4/groups", groups, ["min_access_level", "all_available", *_PAGE]),
    ("GET", r"/api/v4/groups/([^/]+)/members/all/(\d+)", group_member, []),
    ("GET", r"/api/v4/projects", projects, ["membership", "simple", "search", "order_by", "sort", *_PAGE]),
    ("GET", r"/api/v4/projects/([^/]+)", project, []),
    ("GET", r"/api/v4/projects/([^/]+)/merge_requests", list_merge_requests, ["source_branch", "target_branch", "state", *_PAGE]),
    ("POST", r"/api/v4/projects/([^/]+)/merge_requests", create_merge_request, []),
    ("GET", r"/api/v4/projects/([^/]+)/protected_branches", protected_branches, _PAGE),
]
# the Runners API, served when a test adds it (``standin.routes += api.RUNNER_ROUTES``): other tests
# use /api/v4/runners as a path the stand-in does not know
RUNNER_ROUTES = [
    ("GET", r"/api/v4/runners/all", all_runners, _RUNNER_FILTERS),
    ("GET", r"/api/v4/runners", owned_runners, _RUNNER_FILTERS),
]
