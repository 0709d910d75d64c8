"""Live check: the pipeline template's jobs have online runners with their tags.

The tags come from the template users get (lab_ext's ml-project ``.gitlab-ci.yml``, read as a
file: the hub does not import the lab extension), ``$VARIABLE`` tags expanded from its
``variables`` defaults. A job runs on a runner that carries all of its tags (GitLab's runner
finder ``tagged_with``, app/finders/ci/runners_finder.rb), so each job's tag set is asked for:
``GET /api/v4/runners/all?tag_list=…&status=online&paused=false`` (doc/api/runners.md, "List all
runners": administrators only). With a token of a non-administrator GitLab answers 403; then the
token user's own runners (``GET /runners``, project and group runners they own) are asked, which
cannot show instance runners: not finding one there is a warning, not a failure.

The token is the admin's, given in ``HYBRIDHUB_DOCTOR_GITLAB_TOKEN`` (a personal access token with
``read_api``); without it the check says "not checked" and how to give one. It is never shown."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

import yaml

from .check import FAIL, PASS, WARN, Context, Result
from .checks_live_gitlab import _ask, _json

TOKEN_ENV = "HYBRIDHUB_DOCTOR_GITLAB_TOKEN"
TEMPLATE = "lab_ext/pipelines/templates/ml-project/.gitlab-ci.yml"  # under the hybridhub package
NOT_JOBS = {"stages", "variables", "default", "include", "workflow", "image", "services", "cache", "before_script",
            "after_script"}


def template_file() -> Path | None:
    import hybridhub

    return next((Path(base) / TEMPLATE for base in hybridhub.__path__ if (Path(base) / TEMPLATE).is_file()), None)


def template_tag_sets(text: str) -> dict[str, tuple[str, ...]]:
    """Each job's tags (``$VAR``/``${VAR}`` expanded from the file's variables), by job name."""
    data = yaml.safe_load(text) or {}
    variables = {k: (v.get("value", "") if isinstance(v, dict) else str(v))
                 for k, v in (data.get("variables") or {}).items()}

    def expand(tag: str) -> str:
        return re.sub(r"\$\{?(\w+)\}?", lambda m: variables.get(m.group(1), ""), str(tag))

    return {job: tuple(sorted({expand(t) for t in spec.get("tags") or []}))
            for job, spec in data.items()
            if job not in NOT_JOBS and not job.startswith(".") and isinstance(spec, dict) and spec.get("tags")}


def _runners(context: Context, name: str, path: str, tags: tuple[str, ...], token: str):
    query = urlencode({"tag_list": ",".join(tags), "status": "online", "paused": "false", "per_page": 1})
    return _ask(context, name, "GET", f"/api/v4/{path}?{query}", headers={"PRIVATE-TOKEN": token})


def runners(context: Context) -> Result:
    name = "runners"
    token = context.environ.get(TOKEN_ENV, "")
    if not token:
        return Result(name, WARN, "saw_runners_no_token", {"variable": TOKEN_ENV}, "fix_runners_no_token")
    path = template_file()
    if path is None:
        return Result(name, WARN, "saw_runners_no_template", {"template": TEMPLATE})
    wanted = sorted(set(template_tag_sets(path.read_text(encoding="utf-8")).values()))
    missing, owned_only = [], False
    for tags in wanted:
        asked = _runners(context, name, "runners/all", tags, token)
        if isinstance(asked, Result):
            return asked
        answer = asked[0]
        if answer.status == 403:  # not an administrator: the token user's own runners only
            owned_only = True
            asked = _runners(context, name, "runners", tags, token)
            if isinstance(asked, Result):
                return asked
            answer = asked[0]
        if answer.status == 401:
            return Result(name, FAIL, "saw_runners_token_refused", {"variable": TOKEN_ENV}, "fix_runners_no_token")
        found = _json(answer.data, list)
        if answer.status != 200 or found is None:
            return Result(name, FAIL, "saw_gitlab_no_api", {"url": asked[1], "status": answer.status},
                          "fix_gitlab_no_api")
        if not found:
            missing.append(",".join(tags))
    seen = {"tags": "; ".join(",".join(t) for t in wanted), "missing": "; ".join(missing)}
    if missing and owned_only:
        return Result(name, WARN, "saw_runners_not_owned", seen, "fix_runners_admin_token")
    if missing:
        return Result(name, FAIL, "saw_runners_missing", seen, "fix_runners_missing")
    return Result(name, PASS, "saw_runners_ok", seen)

