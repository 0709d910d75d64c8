"""The GitLab backend: python-gitlab with the user's OAuth token, in worker threads with
timeouts so the server never blocks.

Job logs: each poll asks ``/jobs/:id/trace`` with ``Range: bytes=<offset>-``. A server that
honours it (206) sends only the new bytes; GitLab's API documents no range support and answers
200 with the whole log, which is then cut at the offset here, so the browser still receives
only new bytes. Metrics come from the ``metrics.json`` artifact of the job that carries the
pipeline's metrics report, fetched once per finished pipeline.

GitLab lists pipelines as ``PipelineBasic`` (no started_at, finished_at, duration); the timings of
the rows the panel shows come from each pipeline's detail entity, at most :data:`DETAIL_ROWS` per
list, and are kept once the pipeline has finished. A launch sends only the user's variables; a
lost answer is found again by ref, sha, user and time (:mod:`.lost_launch`).
"""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import quote

import gitlab
import requests

from . import ci_file, lost_launch
from .backend import FINISHED, PipelineBackend, group_stages, runner_kind
from .errors import PipelineError

MAX_TRACE_CHUNK = 512 * 1024
DETAIL_ROWS = 20  # list rows whose timings are fetched from the pipeline's detail entity
DETAIL_CONCURRENCY = 4
TIMINGS = ("started_at", "finished_at", "duration")
WATCH_LEASE = 90.0  # seconds a pipeline counts as watched after the panel's last poll
try:  # the culler counts a watched, running pipeline as activity
    from ..activity import registry as _activity
except ImportError:  # pragma: no cover
    _activity = None


def _job_number(job_id) -> int:
    try:
        return int(job_id)
    except (TypeError, ValueError):
        raise PipelineError("unknown_job") from None


def _project_path(project: str) -> str:
    if not isinstance(project, str) or not project or len(project) > 255:
        raise PipelineError("unknown_project")
    return quote(project, safe="")


class GitLabBackend(PipelineBackend):
    name = "gitlab"

    def __init__(self, url: str, token: str, *, ca_bundle: str = "", timeout: float = 20.0,
                 token_source=None) -> None:
        """``token_source``: the server's GitLabTokenSource (lab_ext/gitlab_token.py); each call then
        uses its current token, renewed through the hub before it expires or once GitLab refused it."""
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.ca_bundle = ca_bundle
        self.token_source = token_source
        self._token = token
        self._gl = self._client(token)
        self.requests: dict[str, tuple[str, int]] = {}
        self.locks: dict[str, asyncio.Lock] = {}
        self.metrics_cache: dict[tuple[str, int], dict | None] = {}
        self.uncertain: dict[str, lost_launch.Attempt] = {}  # launches whose answer was lost
        self.timings_cache: dict[tuple[str, int], dict] = {}
        self.username: str | None = None
        self.watches: dict[tuple[str, int], tuple[int, asyncio.TimerHandle]] = {}

    def _watch(self, project: str, pipeline_id: int, active: bool) -> None:
        """While the panel polls a running pipeline, the server counts as busy (lease renewed per poll)."""
        key = (project, int(pipeline_id))
        held = self.watches.pop(key, None)
        if held:
            held[1].cancel()
        if _activity is None or not active:
            if held and _activity is not None:
                _activity.finish(held[0])
            return
        token = held[0] if held else _activity.start("pipeline-watch", f"GitLab pipeline {pipeline_id}")

        def expire() -> None:
            self.watches.pop(key, None)
            _activity.finish(token)

        self.watches[key] = (token, asyncio.get_running_loop().call_later(WATCH_LEASE, expire))

    async def close(self) -> None:
        for token, handle in self.watches.values():
            handle.cancel()
            if _activity is not None:
                _activity.finish(token)
        self.watches.clear()

    def _client(self, token: str):
        return gitlab.Gitlab(self.url, oauth_token=token, ssl_verify=self.ca_bundle or True, timeout=self.timeout)

    def _use(self, token: str) -> None:
        if token and token != self._token:
            self._token, self._gl = token, self._client(token)

    # ---- the one seam: every call goes through here ---------------------------------------
    async def _call(self, verb: str, path: str, *, not_found: str = "unknown_project", **kwargs):
        source = self.token_source
        if source is None:
            return await self._request(verb, path, not_found, kwargs)
        await source.renew()  # a token that expires soon is renewed first
        self._use(source.current())
        try:
            return await self._request(verb, path, not_found, kwargs)
        except PipelineError as e:
            if e.reason != "token_expired" or not await source.renew(rejected=self._token):
                raise
        self._use(source.current())
        return await self._request(verb, path, not_found, kwargs)

    async def _request(self, verb: str, path: str, not_found: str, kwargs: dict):
        gl = self._gl

        def work():
            return gl.http_request(verb, path, timeout=self.timeout, **kwargs)

        try:
            return await asyncio.wait_for(asyncio.to_thread(work), self.timeout + 5)
        except asyncio.TimeoutError:
            raise PipelineError("gitlab_unreachable", details="GitLab did not answer in time") from None
        except gitlab.exceptions.GitlabAuthenticationError:
            raise PipelineError("token_expired") from None
        except gitlab.exceptions.GitlabHttpError as exc:
            raise self._http_error(exc, not_found) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise PipelineError("gitlab_unreachable", details=type(exc).__name__) from None

    @staticmethod
    def _http_error(exc, not_found: str) -> PipelineError:
        code, text = exc.response_code, str(exc.error_message or "")
        if code == 401:
            return PipelineError("token_expired")
        if code == 403:
            return PipelineError("access_denied")
        if code == 404:
            return PipelineError(not_found)
        if code == 400 and "reference not found" in text.lower():
            return PipelineError("unknown_ref")
        # lib/gitlab/ci/pipeline/chain/validate/abilities.rb (16+, and the older wording)
        if code == 400 and ("permission to run a pipeline on" in text or "permissions for protected ref" in text):
            return PipelineError("protected_ref", details=text[:300])
        # lib/gitlab/ci/pipeline/chain/build/associations.rb
        if code == 400 and "insufficient permissions to set pipeline variables" in text.lower():
            return PipelineError("variables_not_allowed", details=text[:300])
        if code == 400 and "missing" in text.lower() and "config" in text.lower():
            return PipelineError("no_ci_file")
        if code in (400, 422):
            return PipelineError("invalid_request", details=text[:300])
        return PipelineError("gitlab_error", details=f"HTTP {code}")

    async def _json(self, path: str, query: dict | None = None, not_found: str = "unknown_project"):
        response = await self._call("get", path, query_data=query or {}, not_found=not_found)
        return response.json()

    # ---- for the extension's other parts (the Models panel's environments) -----------------
    async def get_json(self, path: str, query: dict | None = None, *, not_found: str = "unknown_project"):
        """``GET`` of GitLab's REST API (``path`` under /api/v4) as JSON, through the one seam
        (token renewal, timeouts, errors as PipelineError; a 404 is ``not_found``)."""
        return await self._json(path, query, not_found)

    async def get_text(self, path: str, query: dict | None = None, *, not_found: str = "unknown_project") -> str:
        """``GET`` of a raw file (e.g. ``/repository/files/:path/raw``), decoded as UTF-8."""
        response = await self._call("get", path, query_data=query or {}, not_found=not_found)
        return response.content.decode("utf-8", "replace")

    async def post_json(self, path: str, body: dict, *, not_found: str = "unknown_project"):
        """``POST`` a form to GitLab's REST API; its JSON answer."""
        response = await self._call("post", path, post_data=body, not_found=not_found)
        return response.json()

    # ---- projects, refs, variables ---------------------------------------------------------
    async def projects(self, search: str = "") -> list[dict]:
        query = {"membership": "true", "simple": "true", "order_by": "last_activity_at", "per_page": 50}
        if search:
            query["search"] = search
        found = await self._json("/projects", query)
        return [{"id": str(p["id"]), "name": p["name"], "path": p["path_with_namespace"], "web_url": p["web_url"]}
                for p in found]  # fmt: skip

    async def refs(self, project: str) -> dict:
        base = f"/projects/{_project_path(project)}"
        info = await self._json(base)
        branches = await self._json(f"{base}/repository/branches", {"per_page": 100})
        tags = await self._json(f"{base}/repository/tags", {"per_page": 100})
        return {"default": info.get("default_branch") or "", "branches": [b["name"] for b in branches],
                "tags": [t["name"] for t in tags]}  # fmt: skip

    async def template_variables(self, project: str, ref: str) -> list[dict]:
        if not ref:
            raise PipelineError("unknown_ref")
        path = f"/projects/{_project_path(project)}/repository/files/{quote('.gitlab-ci.yml', safe='')}/raw"
        response = await self._call("get", path, query_data={"ref": ref}, not_found="no_ci_file")
        return ci_file.variables(ci_file.load(response.content.decode("utf-8", "replace")))

    # ---- pipelines -------------------------------------------------------------------------
    async def create(self, project: str, ref: str, variables: list[dict], request_id: str | None) -> dict:
        key = f"{project}\n{request_id}" if request_id else None
        lock = self.locks.setdefault(key, asyncio.Lock()) if key else asyncio.Lock()
        base = f"/projects/{_project_path(project)}"
        async with lock:
            if key and key in self.requests:
                return await self.pipeline(*self.requests[key])
            if key and key in self.uncertain:  # the last attempt may have started one: look first
                found = await self._find_lost(project, self.uncertain[key])
                if found is not None:
                    self.requests[key] = (project, found)
                    del self.uncertain[key]
                    return await self.pipeline(project, found)
            attempt = await self._attempt(base, ref) if key else None
            body: dict = {"ref": ref}
            if variables:  # only what the user set: restricted projects refuse any pipeline variable
                body["variables"] = [{"key": v["key"], "value": v["value"], "variable_type": "env_var"}
                                     for v in variables]  # fmt: skip
            try:
                response = await self._call("post", f"{base}/pipeline", post_data=body)
            except PipelineError as exc:
                if attempt and exc.reason in ("gitlab_unreachable", "gitlab_error"):
                    attempt.until = time.time()
                    self.uncertain[key] = attempt
                raise
            created = response.json()
            if key:
                self.requests[key] = (project, int(created["id"]))
                self.uncertain.pop(key, None)
        return await self.pipeline(project, int(created["id"]))

    async def _attempt(self, base: str, ref: str) -> lost_launch.Attempt:
        """Ref, commit and user of a launch about to be sent (see lost_launch)."""
        if self.username is None:
            self.username = (await self._json("/user"))["username"]
        commit = await self._json(f"{base}/repository/commits/{quote(ref, safe='')}", not_found="unknown_ref")
        return lost_launch.Attempt(ref, commit["id"], self.username)

    async def _find_lost(self, project: str, attempt: lost_launch.Attempt) -> int | None:
        found = await self._json(f"/projects/{_project_path(project)}/pipelines", attempt.query())
        claimed = {pid for p, pid in self.requests.values() if p == project}
        return lost_launch.match(found, attempt, claimed)

    def _pipeline_view(self, project: str, p: dict) -> dict:
        return {
            "id": p["id"], "project": project, "ref": p.get("ref", ""), "sha": p.get("sha", ""),
            "status": p.get("status", ""), "created_at": p.get("created_at"), "started_at": p.get("started_at"),
            "finished_at": p.get("finished_at"), "duration": p.get("duration"), "web_url": p.get("web_url", ""),
            "variables": [], "metrics": None, "backend": self.name, "error": "",
        }  # fmt: skip

    async def pipelines(self, project: str, limit: int = 20) -> list[dict]:
        found = await self._json(f"/projects/{_project_path(project)}/pipelines",
                                 {"per_page": limit, "order_by": "id", "sort": "desc"})  # fmt: skip
        views = [self._pipeline_view(project, p) for p in found]
        gate = asyncio.Semaphore(DETAIL_CONCURRENCY)

        async def timings(view: dict) -> None:
            async with gate:
                try:
                    view.update(await self._timings(project, view["id"], view["status"]))
                except PipelineError as exc:  # deleted since it was listed: the row shows no timings
                    if exc.reason != "unknown_pipeline":
                        raise

        await asyncio.gather(*(timings(v) for v in views[:DETAIL_ROWS]))
        for view in views:
            try:
                view["metrics"] = await self._metrics(project, view["id"], view["status"])
            except PipelineError as exc:
                if exc.reason != "unknown_pipeline":
                    raise
        return views

    async def _timings(self, project: str, pipeline_id: int, status: str) -> dict:
        """started_at, finished_at, duration from the detail entity; kept once finished."""
        key = (project, int(pipeline_id))
        if key in self.timings_cache:
            return self.timings_cache[key]
        path = f"/projects/{_project_path(project)}/pipelines/{int(pipeline_id)}"
        detail = await self._json(path, not_found="unknown_pipeline")
        found = {name: detail.get(name) for name in TIMINGS}
        if detail.get("status", status) in FINISHED:
            self.timings_cache[key] = found
        return found

    async def pipeline(self, project: str, pipeline_id: int) -> dict:
        base = f"/projects/{_project_path(project)}/pipelines/{int(pipeline_id)}"
        view = self._pipeline_view(project, await self._json(base, not_found="unknown_pipeline"))
        jobs = await self._jobs(project, pipeline_id)
        view["variables"] = [{"key": v["key"], "value": v["value"]}
                             for v in await self._json(f"{base}/variables", not_found="unknown_pipeline")]  # fmt: skip
        view["stages"] = group_stages([self._job_view(j) for j in reversed(jobs)], [])
        view["metrics"] = await self._metrics(project, pipeline_id, view["status"], jobs)
        self._watch(project, pipeline_id, view["status"] not in FINISHED)
        return view

    async def _jobs(self, project: str, pipeline_id: int) -> list[dict]:
        path = f"/projects/{_project_path(project)}/pipelines/{int(pipeline_id)}/jobs"
        return await self._json(path, {"per_page": 100, "include_retried": "false"}, not_found="unknown_pipeline")

    @staticmethod
    def _job_view(job: dict) -> dict:
        runner = job.get("runner") or {}
        tags = list(job.get("tag_list") or [])
        return {
            "id": job["id"], "name": job["name"], "stage": job["stage"], "status": job["status"],
            "started_at": job.get("started_at"), "finished_at": job.get("finished_at"), "duration": job.get("duration"),
            "allow_failure": bool(job.get("allow_failure")), "manual": job["status"] == "manual",
            "web_url": job.get("web_url", ""),
            "runner": {"kind": runner_kind(tags, runner.get("description", "")), "tags": tags,
                       "description": runner.get("description", "")},
        }  # fmt: skip

    async def _metrics(self, project: str, pipeline_id: int, status: str, jobs: list | None = None) -> dict | None:
        key = (project, int(pipeline_id))
        if key in self.metrics_cache:
            return self.metrics_cache[key]
        jobs = jobs if jobs is not None else await self._jobs(project, pipeline_id)
        metrics = None
        carriers = [j for j in jobs if any(a.get("file_type") == "metrics" for a in j.get("artifacts") or [])]
        for job in carriers:
            path = f"/projects/{_project_path(project)}/jobs/{job['id']}/artifacts/metrics.json"
            try:
                data = json.loads((await self._call("get", path, not_found="unknown_job")).content)
            except (PipelineError, ValueError):
                continue
            values = data.get("metrics", data) if isinstance(data, dict) else {}
            metrics = {k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            break
        if status in FINISHED:
            self.metrics_cache[key] = metrics
        return metrics

    async def trace(self, project: str, pipeline_id: int, job_id, offset: int) -> dict:
        job = await self._json(f"/projects/{_project_path(project)}/jobs/{_job_number(job_id)}", not_found="unknown_job")
        if job.get("pipeline", {}).get("id") != int(pipeline_id):
            raise PipelineError("unknown_job")
        path = f"/projects/{_project_path(project)}/jobs/{_job_number(job_id)}/trace"
        try:
            response = await self._call("get", path, extra_headers={"Range": f"bytes={int(offset)}-"}, not_found="unknown_job")
        except PipelineError as exc:
            if exc.details != "HTTP 416":  # nothing after the offset yet
                raise
            return {"offset": offset, "next_offset": int(offset), "content": "", "complete": job["status"] in FINISHED}
        body = response.content
        new = body if response.status_code == 206 else body[int(offset):]
        new = new[:MAX_TRACE_CHUNK]
        return {"offset": offset, "next_offset": int(offset) + len(new), "content": new.decode("utf-8", "replace"),
                "complete": job["status"] in FINISHED and (response.status_code == 206 or int(offset) + len(new) >= len(body))}  # fmt: skip

    async def cancel(self, project: str, pipeline_id: int) -> dict:
        await self._call("post", f"/projects/{_project_path(project)}/pipelines/{int(pipeline_id)}/cancel",
                         not_found="unknown_pipeline")  # fmt: skip
        return await self.pipeline(project, pipeline_id)

    async def retry(self, project: str, pipeline_id: int, job_id) -> dict:
        return await self._job_action(project, pipeline_id, job_id, "retry")

    async def play(self, project: str, pipeline_id: int, job_id) -> dict:
        return await self._job_action(project, pipeline_id, job_id, "play")

    async def _job_action(self, project: str, pipeline_id: int, job_id, action: str) -> dict:
        job = await self._json(f"/projects/{_project_path(project)}/jobs/{_job_number(job_id)}", not_found="unknown_job")
        if job.get("pipeline", {}).get("id") != int(pipeline_id):
            raise PipelineError("unknown_job")
        if action == "play" and job["status"] != "manual":
            raise PipelineError("not_playable")
        if action == "retry" and job["status"] not in ("success", "failed", "canceled"):
            raise PipelineError("not_retryable")
        await self._call("post", f"/projects/{_project_path(project)}/jobs/{_job_number(job_id)}/{action}", not_found="unknown_job")
        return await self.pipeline(project, pipeline_id)
