"""The local backend: the repository's ``.gitlab-ci.yml`` run by gitlab-ci-local in the shell.

A pipeline is a shared clone of the workspace repository at the chosen commit, run with
``--shell-isolation --force-shell-executor`` and ``HYBRIDHUB_LOCAL_RUN=true``. Job states come
from gitlab-ci-local's output lines, logs from ``.gitlab-ci-local/output/<job>.log`` (read from
an offset, so each poll costs only the new bytes), metrics from the jobs' ``metrics.json``
artifacts. Manual jobs wait until played; play and retry run that one job in the same clone.
The jobs' secrets are masked in every log the panel reads or the store keeps (masking.py).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import signal
import time
from pathlib import Path

from .. import workspace
from . import ci_file, local_retrain
from .backend import FINISHED, PipelineBackend, group_stages, runner_kind
from .errors import PipelineError
from .local_run import CiLocalProcess, argv_for, check_tools, job_env, parse_line
from .local_serving import LocalServing
from .local_store import (STORE_DIR, EnvironmentStore, PipelineStore, iso_to_epoch, job_environments, now_iso,
                          read_metrics)  # fmt: skip
from .masking import LiveReader, Masker, read_kept

GIT_TIMEOUT = 60.0
log = logging.getLogger(__name__)
MAX_TRACE_CHUNK = 512 * 1024
try:  # the culler counts a running pipeline as activity
    from ..activity import registry as _activity
except ImportError:  # pragma: no cover - the activity module ships with the package
    _activity = None


async def git(*args: str, cwd: Path, timeout: float = GIT_TIMEOUT) -> str:
    proc = await asyncio.create_subprocess_exec(
        "git", *args, cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise PipelineError("pipeline_error", details=f"git {args[0]} timed out") from None
    if proc.returncode:
        raise GitFailed(err.decode("utf-8", "replace").strip())
    return out.decode("utf-8", "replace")


class GitFailed(Exception):
    pass


class LocalBackend(PipelineBackend):
    name = "local"

    def __init__(self, root: str | os.PathLike, *, tool: str = "", timeout: float = 3600.0, env: dict | None = None):
        self.root = Path(os.path.realpath(root))
        self.store = PipelineStore(self.root)
        self.environments = EnvironmentStore(self.store)  # deployments of jobs with an environment (design §5)
        self.tool, self.timeout, self.extra_env = tool, timeout, dict(env or {})
        self.running: dict[int, CiLocalProcess] = {}
        self.tasks: dict[int, asyncio.Task] = {}
        self.requests: dict[str, int] = {}
        self.starting: set[int] = set()
        self.lock = asyncio.Lock()
        self.live_logs = LiveReader()
        # deploy jobs hand their model to this server's model server (local_serving.py)
        port = os.environ.get("HYBRIDHUB_LOCAL_SERVE_PORT", "0")
        # its MLServer processes get the jobs' object-store env (+ PREDICTION_LOG_URI): the request log
        self.serving = LocalServing(self.store.base / "serving", port=int(port) if port.isdigit() else 0,
                                    env=self.extra_env)  # fmt: skip
        atexit.register(self._kill_all_now)

    def _kill_all_now(self) -> None:
        """At interpreter exit, no pipeline's process group outlives the server."""
        for proc in list(self.running.values()):
            if proc.proc is not None and proc.proc.returncode is None:
                try:
                    os.killpg(proc.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    # ---- projects and refs -------------------------------------------------------------
    async def projects(self, search: str = "") -> list[dict]:
        found = []
        candidates = [self.root] + sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))
        for path in candidates:
            if (path / ".git").exists():
                rel = "." if path == self.root else path.name
                name = path.name
                if search.lower() in name.lower():
                    found.append({"id": rel, "name": name, "path": rel, "web_url": ""})
        return found

    def _project_dir(self, project: str) -> Path:
        if not isinstance(project, str) or project in ("", "..") or "/" in project or "\\" in project:
            raise PipelineError("unknown_project")
        path = self.root if project == "." else self.root / project
        if not (path / ".git").exists() or path.resolve().parent not in (self.root, self.root.parent):
            raise PipelineError("unknown_project")
        return path

    async def refs(self, project: str) -> dict:
        path = self._project_dir(project)
        out = await git("for-each-ref", "--format=%(refname)", "refs/heads", "refs/tags", cwd=path)
        branches = [r[len("refs/heads/"):] for r in out.split() if r.startswith("refs/heads/")]
        tags = [r[len("refs/tags/"):] for r in out.split() if r.startswith("refs/tags/")]
        try:
            default = (await git("symbolic-ref", "--short", "HEAD", cwd=path)).strip()
        except GitFailed:
            default = branches[0] if branches else ""
        return {"default": default, "branches": branches, "tags": tags}

    async def _resolve(self, path: Path, ref: str) -> str:
        if not isinstance(ref, str) or not ref or ref.startswith("-") or len(ref) > 255:
            raise PipelineError("unknown_ref")
        try:
            return (await git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=path)).strip()
        except GitFailed:
            raise PipelineError("unknown_ref") from None

    async def _ci_text(self, path: Path, sha: str) -> str:
        try:
            return await git("show", f"{sha}:.gitlab-ci.yml", cwd=path)
        except GitFailed:
            raise PipelineError("no_ci_file") from None

    async def template_variables(self, project: str, ref: str) -> list[dict]:
        path = self._project_dir(project)
        declared = ci_file.variables(ci_file.load(await self._ci_text(path, await self._resolve(path, ref))))
        return [v for v in declared if v["key"] != "HYBRIDHUB_LOCAL_RUN"]  # forced to true here

    # ---- launching -----------------------------------------------------------------------
    async def create(self, project: str, ref: str, variables: list[dict], request_id: str | None) -> dict:
        path = self._project_dir(project)
        async with self.lock:
            if request_id:
                known = self.requests.get(request_id) or self._find_request(request_id)
                if known:
                    return await self.pipeline(project, known)
            sha = await self._resolve(path, ref)
            data = ci_file.load(await self._ci_text(path, sha))
            tool = check_tools(self.tool)
            record = self._new_record(project, ref, sha, variables, request_id, data)
            if request_id:
                self.requests[request_id] = record["id"]
            self.store.save(record)
            self.starting.add(record["id"])
        src = self.store.run_dir(record["id"]) / "src"
        try:
            await git("clone", "--quiet", "--no-checkout", "--shared", str(path), str(src), cwd=self.root)
            await git("checkout", "--quiet", "--detach", sha, cwd=src)
        except GitFailed as exc:
            record.update(status="failed", finished_at=now_iso(), error="clone failed")
            self.store.save(record)
            self.starting.discard(record["id"])
            raise PipelineError("pipeline_error", details=str(exc)[:300]) from None
        names = [j["name"] for j in record["jobs"] if j["when"] != "manual"]
        await self._start(record, argv_for(tool, self._variables(record), []), names)
        self.starting.discard(record["id"])
        await asyncio.to_thread(self.store.prune, set(self.running) | self.starting)
        return self._view(record)

    def _find_request(self, request_id: str) -> int | None:
        for record in self.store.records(limit=100):
            if record.get("request_id") == request_id:
                return record["id"]
        return None

    def _new_record(self, project, ref, sha, variables, request_id, data) -> dict:
        tags = ci_file.job_tags(data, variables)
        jobs = []
        for index, (name, job) in enumerate(ci_file.jobs(data, variables).items(), start=1):  # its rules, as gitlab-ci-local
            manual = job["when"] == "manual"
            jobs.append(
                {"id": index, "name": name, "stage": job["stage"], "when": job["when"], "tags": tags.get(name, []),
                 "status": "manual" if manual else "created", "allow_failure": manual, "environment": job["environment"],
                 "started_at": None, "finished_at": None, "retried": False}
            )  # fmt: skip
        return {
            "id": self.store.next_id(), "project": project, "ref": ref, "sha": sha, "status": "pending",
            "created_at": now_iso(), "started_at": None, "finished_at": None, "variables": variables,
            "request_id": request_id, "stages_order": ci_file.stages(data), "jobs": jobs, "metrics": None,
            "error": "", "next_job_id": len(jobs) + 1,
        }  # fmt: skip

    @staticmethod
    def _variables(record: dict) -> list[dict]:
        given = [v for v in record["variables"] if v["key"] != "HYBRIDHUB_LOCAL_RUN"]
        return given + [{"key": "HYBRIDHUB_LOCAL_RUN", "value": "true"}]  # always, whatever the form said

    async def _start(self, record: dict, argv: list[str], names: list[str]) -> None:
        src = self.store.run_dir(record["id"]) / "src"
        await self._serve()
        env = {**self.extra_env, "HYBRIDHUB_PIPELINE_ID": str(record["id"]), "HYBRIDHUB_SERVING_DIR": str(self.serving.dir),
               "HYBRIDHUB_SERVING_URL": self.serving.url}  # fmt: skip
        self.job_environments(record)
        for name in names:
            self._deployment(record, self._current(record, name))
        proc = CiLocalProcess(argv, src, job_env(env), self.timeout)
        self.running[record["id"]] = proc
        self.tasks[record["id"]] = asyncio.create_task(self._supervise(record["id"], proc, names))

    async def _serve(self) -> None:
        """The serving folder (made like the store's, never through a symbolic link) and its watcher."""
        self.store.ensure()
        workspace.make_folder(self.root, STORE_DIR.split("/") + ["serving"], exist_ok=True, error=PipelineError)
        await self.serving.start()

    async def _supervise(self, pipeline_id: int, proc: CiLocalProcess, names: list[str]) -> None:
        token = _activity.start("pipeline-watch", f"local pipeline {pipeline_id}") if _activity else None
        record = self.store.load(pipeline_id)
        record["status"] = "running"
        record["started_at"] = record["started_at"] or now_iso()
        self.store.save(record)
        current = {name: self._current(record, name) for name in names}

        def on_line(line: str) -> None:
            event = parse_line(line, names)
            if event is None or proc.canceled or proc.timed_out:  # a killed job is not a result
                return
            job = current[event.job]
            if event.kind == "started":
                job.update(status="running", started_at=now_iso(), finished_at=None)
            elif event.kind in ("finished", "result") and job["status"] == "running" or event.kind == "result":
                job["status"] = "failed" if event.failed else "success"
                job["allow_failure"] = job["allow_failure"] or event.allowed
                job["finished_at"] = job["finished_at"] or now_iso()
                self._keep_log(pipeline_id, job)
            self.store.save(record)
            self._deployment(record, job)

        try:
            code = await proc.run(on_line)
            self._finish(record, proc, code, names)
            await local_retrain.follow(self, record)  # a monitor job's retrain request (local_retrain.py)
        except Exception as exc:  # noqa: BLE001 - the record must not stay "running"
            record.update(status="failed", error=f"{type(exc).__name__}")
            self._finish(record, proc, -1, names)
        finally:
            self.running.pop(pipeline_id, None)
            self.tasks.pop(pipeline_id, None)
            if token is not None:
                _activity.finish(token)

    @staticmethod
    def _current(record: dict, name: str) -> dict:
        return [j for j in record["jobs"] if j["name"] == name and not j["retried"]][-1]

    def _finish(self, record: dict, proc: CiLocalProcess, code: int, names: list[str]) -> None:
        stopped = "canceled" if proc.canceled or proc.timed_out else None
        for name in names:
            job = self._current(record, name)
            if job["status"] in ("running", "created", "pending"):
                job["status"] = stopped or ("skipped" if job["status"] != "running" else "failed")
                job["finished_at"] = now_iso() if job["started_at"] else None
                if job["started_at"]:
                    self._keep_log(record["id"], job)
            self._deployment(record, job)
        self._mask_live_logs(record, names)
        for job in record["jobs"]:
            if job["status"] == "manual" and (stopped or self._blocking_failure(record)):
                job["status"] = "skipped"
        if proc.timed_out:
            record["error"] = "runner_timeout"
        elif code and not self._blocking_failure(record) and not stopped:
            record["error"] = self.masker().mask_text("\n".join(proc.tail[-10:]))
        record["metrics"] = read_metrics(self.store.run_dir(record["id"]) / "src") or record.get("metrics")
        record["status"] = self._overall(record, stopped, code)
        record["finished_at"] = now_iso()
        self.store.save(record)

    def job_environments(self, record: dict) -> dict[str, str]:
        return job_environments(record, self.store.run_dir(record["id"]) / "src")

    def _deployment(self, record: dict, job: dict) -> None:
        """A run of a job with ``environment:`` is a deployment whose status follows the job's."""
        if not job.get("environment"):
            return
        try:
            self.environments.follow(job["environment"], record, job)
        except (OSError, PipelineError) as exc:  # the job's own result stands; the record says why not
            log.warning("the deployment of local pipeline %s job %s was not recorded (%s)", record["id"], job["name"],
                        getattr(exc, "reason", type(exc).__name__))  # fmt: skip

    @staticmethod
    def _blocking_failure(record: dict) -> bool:
        return any(j["status"] == "failed" and not j["allow_failure"] and not j["retried"] for j in record["jobs"])

    def _overall(self, record: dict, stopped: str | None, code: int) -> str:
        if stopped:
            return "canceled"
        if self._blocking_failure(record) or (code and record.get("error")):
            return "failed"
        return "success"

    def masker(self) -> Masker:
        """The secrets of the jobs' environment (the values this server gives every job)."""
        return Masker.from_env(job_env(self.extra_env))

    def _live_log(self, pipeline_id: int, job: dict) -> Path:
        return self.store.run_dir(pipeline_id) / "src" / ".gitlab-ci-local" / "output" / f"{job['name']}.log"

    def _keep_log(self, pipeline_id: int, job: dict) -> None:
        """The masked copy is kept, and the live log masked too: gitlab-ci-local still reads it for
        its summary of failed jobs, and a retry truncates it."""
        live = self._live_log(pipeline_id, job)
        if live.is_file():
            masker = self.masker()
            self.store.keep_log(pipeline_id, job["id"], live, masker)
            self.store.mask_file(live, masker)

    def _mask_live_logs(self, record: dict, names: list[str]) -> None:
        """After the run's process ended: what it wrote after a job was kept is masked too."""
        for name in names:
            live = self._live_log(record["id"], self._current(record, name))
            if live.is_file():
                try:
                    self.store.mask_file(live, self.masker())
                except (OSError, PipelineError) as exc:
                    log.warning("local pipeline %s: the log of %s was not masked (%s)", record["id"], name,
                                getattr(exc, "reason", type(exc).__name__))  # fmt: skip

    # ---- reading -------------------------------------------------------------------------
    def _view(self, record: dict) -> dict:
        jobs = [self._job_view(record, j) for j in record["jobs"] if not j["retried"]]
        started, finished = iso_to_epoch(record["started_at"]), iso_to_epoch(record["finished_at"])
        view = {k: record[k] for k in ("id", "project", "ref", "sha", "status", "created_at", "started_at", "finished_at")}
        view.update(
            variables=record["variables"], metrics=record["metrics"], web_url="", backend=self.name,
            duration=round((finished or time.time()) - started, 1) if started else None,
            error=record.get("error", ""), stages=group_stages(jobs, record["stages_order"]),
        )  # fmt: skip
        return view

    @staticmethod
    def _job_view(record: dict, job: dict) -> dict:
        started, finished = iso_to_epoch(job["started_at"]), iso_to_epoch(job["finished_at"])
        return {
            "id": job["id"], "name": job["name"], "stage": job["stage"], "status": job["status"],
            "started_at": job["started_at"], "finished_at": job["finished_at"],
            "duration": round((finished or time.time()) - started, 1) if started else None,
            "allow_failure": job["allow_failure"], "manual": job["when"] == "manual", "web_url": "",
            "runner": {"kind": runner_kind(job["tags"]), "tags": job["tags"], "description": "local shell"},
        }  # fmt: skip

    def _load(self, project: str, pipeline_id: int) -> dict:
        self._project_dir(project)
        record = self.store.load(pipeline_id)
        if record.get("project") != project:
            raise PipelineError("unknown_pipeline")
        if record["status"] in ("running", "pending") and record["id"] not in set(self.running) | self.starting:
            record.update(status="canceled", error="interrupted")  # the server stopped during the run
            for job in record["jobs"]:
                if job["status"] in ("running", "created", "pending"):
                    job["status"] = "canceled"
                    self._deployment(record, job)
            self._mask_live_logs(record, sorted({job["name"] for job in record["jobs"]}))
            self.store.save(record)
        return record

    async def pipelines(self, project: str, limit: int = 20) -> list[dict]:
        self._project_dir(project)
        views = []
        for record in self.store.records(project, limit):
            view = self._view(self._load(project, record["id"]))
            view.pop("stages")
            views.append(view)
        return views

    async def pipeline(self, project: str, pipeline_id: int) -> dict:
        return self._view(self._load(project, pipeline_id))

    async def trace(self, project: str, pipeline_id: int, job_id, offset: int) -> dict:
        record = self._load(project, pipeline_id)
        job = self._job(record, job_id)
        kept = self.store.run_dir(pipeline_id) / "logs" / f"{job['id']}.log"
        path = kept if kept.is_file() else self._live_log(pipeline_id, job)
        content, next_offset, at_end = b"", max(0, int(offset)), True
        finished = job["status"] in FINISHED
        if path.is_file() and job["started_at"]:  # whole lines, masked; offsets in the masked text
            if path == kept:
                content, next_offset, at_end = read_kept(path, self.masker(), next_offset, MAX_TRACE_CHUNK)
            else:
                key = (int(pipeline_id), job["id"])
                content, next_offset, at_end = self.live_logs.read(key, path, self.masker(), next_offset,
                                                                   MAX_TRACE_CHUNK, final=finished)  # fmt: skip
        return {"offset": offset, "next_offset": next_offset, "content": content.decode("utf-8", "replace"),
                "complete": finished and at_end}  # fmt: skip

    @staticmethod
    def _job(record: dict, job_id) -> dict:
        for job in record["jobs"]:
            if str(job["id"]) == str(job_id):
                return job
        raise PipelineError("unknown_job")

    # ---- actions -------------------------------------------------------------------------
    async def cancel(self, project: str, pipeline_id: int) -> dict:
        record = self._load(project, pipeline_id)
        proc = self.running.get(pipeline_id)
        if proc is None:
            raise PipelineError("not_cancelable")
        proc.canceled = True
        await proc.kill()
        task = self.tasks.get(pipeline_id)
        if task:
            await asyncio.wait_for(asyncio.shield(task), 30)
        return await self.pipeline(project, record["id"])

    async def play(self, project: str, pipeline_id: int, job_id) -> dict:
        record = self._load(project, pipeline_id)
        job = self._job(record, job_id)
        if job["status"] != "manual":
            raise PipelineError("not_playable")
        return await self._run_one(record, job, job)

    async def retry(self, project: str, pipeline_id: int, job_id) -> dict:
        record = self._load(project, pipeline_id)
        job = self._job(record, job_id)
        if job["status"] not in ("success", "failed", "canceled") or job["retried"]:
            raise PipelineError("not_retryable")
        fresh = dict(job, id=record["next_job_id"], status="created", started_at=None, finished_at=None)
        fresh["allow_failure"] = job["when"] == "manual"
        record["next_job_id"] += 1
        job["retried"] = True
        record["jobs"].append(fresh)
        return await self._run_one(record, job, fresh)

    async def _run_one(self, record: dict, old: dict, job: dict) -> dict:
        if record["id"] in self.running:
            raise PipelineError("busy")
        tool = check_tools(self.tool)
        if job is old:
            job["status"] = "created"
        record.update(status="running", finished_at=None, error="")
        self.store.save(record)
        await self._start(record, argv_for(tool, self._variables(record), [job["name"]]), [job["name"]])
        return self._view(record)

    async def close(self) -> None:
        for proc in list(self.running.values()):
            proc.canceled = True
            await proc.kill(grace=2.0)
        tasks = [t for t in self.tasks.values() if not t.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=10)
        await self.serving.close()
