"""The OpenAPI 3.1 description of the extension's REST API, served at ``GET <base_url>hybridhub/openapi.json``.

One source of truth: the paths and their methods come from the route table (``routes.ROUTES``
and the handler classes), path parameters from the routes' regular expressions and the
handlers' argument names, and each error's ``reason`` enum from the area's reason catalog
(:mod:`.reasons` and the area's ``REASONS``). Only what a route reads (query parameters, body
fields) and what it answers on success is written here, in :data:`OPERATIONS`.
"""

from __future__ import annotations

import inspect
import re
from collections import defaultdict

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base_handler import HybridHubHandler
from .reasons import RequestError

TITLE = "hybridhub server extension"
VERSION = "1"
_GROUP = re.compile(r"\(([^()]*)\)")

# ---- small builders for the table below ------------------------------------------------------
STR = {"type": "string"}
BOOL = {"type": "boolean"}
FLAG = {"type": "string", "enum": ["1", "true", "yes", "0", "false", "no"]}
OBJECT = {"type": "object"}


def query(name: str, description: str, schema: dict | None = None, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema or STR}


def body(required: list[str] | None = None, **properties: dict) -> dict:
    """A JSON object request body with these fields."""
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def field(description: str, schema: dict = STR) -> dict:
    return {**schema, "description": description}


def op(summary: str, *, params: tuple = (), body: dict | None = None, ok: int = 200, answer: str = "json",
       description: str = "") -> dict:  # fmt: skip
    return {"summary": summary, "params": list(params), "body": body, "ok": ok, "answer": answer,
            "description": description}  # fmt: skip


BUCKET = query("bucket", "Bucket name.", required=True)
KEY = query("key", "Object key.", required=True)
VERSION_Q = query("version", "Object version id (at most 1,024 characters); absent: the latest.")
GIT_PATH_Q = query("path", "A folder inside the repository, relative to the server root ('' = the root).")
GIT_PATH = field("A folder inside the repository, relative to the server root.")
BACKEND_Q = query("backend", "'gitlab' or 'local'; absent: the server's default backend.")
BACKEND = field("'gitlab' or 'local'; absent: the server's default backend.")
PROJECT_Q = query("project", "GitLab project path or id, or (local backend) a workspace folder.", required=True)
PROJECT = field("GitLab project path or id, or (local backend) a workspace folder.")
MODEL_PROJECT_Q = query("project", "GitLab project path or id, or (local backend) a workspace folder.", required=True)
MODEL_PROJECT = PROJECT
MODEL_NAME_Q = query("name", "Registered model name.", required=True)
MODEL_NAME = field("Registered model name.")
MODEL_VERSION_Q = query("version", "Semantic version, e.g. 1.0.42.", required=True)

#: route (as in ROUTES) -> method -> what it reads and answers
OPERATIONS: dict[str, dict[str, dict]] = {
    "openapi.json": {"get": op("This description.")},
    "status": {"get": op("What is configured on this server (storage, GitLab), never a secret.")},
    "activity": {
        "get": op("The server's activity report and the culler's standing warning.",
                  params=(query("client", "'lab' marks a connected JupyterLab.", {"type": "string", "enum": ["lab"]}),)),
    },
    "activity/keepalive": {"post": op("Extend the idle timeout once per idle period (409 keepalive_used / max_age_reached).")},
    "activity/saved": {"post": op("JupyterLab saved its open documents before the server stops.")},
    "storage/config": {"get": op("The storage settings the panel needs (endpoint, default bucket, prefix).")},
    "storage/buckets": {"get": op("The buckets the configured key may list.")},
    "storage/list": {
        "get": op("One page of a bucket's folders and objects under a prefix.", params=(
            BUCKET, query("prefix", "Folder prefix ('' = the bucket's top)."),
            query("continuation", "The previous page's next_token (opaque)."),
            query("limit", "Objects per page.", {"type": "integer"}),
            query("search", "Only names starting with this text (no '/')."))),
    },
    "storage/object": {
        "get": op("Download an object (attachment, or an inline image preview); with a browser endpoint, a 307 "
                  "redirect to a presigned URL.", answer="binary", params=(
                      BUCKET, KEY, VERSION_Q, query("inline", "Inline image preview.", FLAG),
                      query("proxy", "Stream through this server even with a browser endpoint.", FLAG))),
        "delete": op("Delete an object.", params=(BUCKET, KEY), ok=204, answer="none"),
    },
    "storage/upload": {
        "put": op("Upload the request body as an object (streamed; needs Content-Length).", ok=201, answer="json",
                  params=(BUCKET, KEY, query("overwrite", "Replace an existing object.", FLAG),
                          {"name": "X-Object-Content-Type", "in": "header", "required": False, "schema": STR,
                           "description": "The object's Content-Type."})),
    },
    "storage/direct-uploads": {
        "post": op("Start a direct upload: the browser sends the parts straight to the store (browser endpoint "
                   "configured; else 409 direct_uploads_off). Answers the plan: id, part_size, parts, part_expiry, "
                   "idle_timeout.", ok=201, body=body(
                       ["bucket", "key", "size"], bucket=field("Bucket name."), key=field("Object key."),
                       size=field("The object's size in bytes (above 0).", {"type": "integer"}),
                       content_type=field("The object's Content-Type."),
                       overwrite=field("Replace an existing object.", BOOL))),
    },
    r"storage/direct-uploads/([^/]+)": {
        "delete": op("Cancel a direct upload (its multipart upload is aborted).", ok=204, answer="none"),
    },
    r"storage/direct-uploads/([^/]+)/parts": {
        "post": op("Presigned PUT URLs of parts (asked again when one expired or failed); renews the upload's lease "
                   "(an empty list only renews it).", body=body(
                       ["numbers"], numbers=field("Part numbers, 1..parts, at most 100.",
                                                  {"type": "array", "items": {"type": "integer"}}))),
    },
    r"storage/direct-uploads/([^/]+)/complete": {
        "post": op("Complete a direct upload once the store holds every part as planned (else 400 incomplete_upload, "
                   "the upload kept).", ok=201, body=body(
                       ["parts"], parts=field("Every part's number and the ETag the store answered for it.", {
                           "type": "array", "items": {"type": "object", "required": ["number", "etag"], "properties": {
                               "number": {"type": "integer"}, "etag": STR}}}))),
    },
    "storage/stat": {"get": op("An object's size, type, modification time and version.", params=(BUCKET, KEY, VERSION_Q))},
    "storage/preview": {"get": op("A CSV/JSON/text preview of an object.", params=(BUCKET, KEY, VERSION_Q))},
    "storage/folder": {
        "post": op("Create a folder (an empty 'prefix/' marker object).", ok=201,
                   body=body(["bucket", "prefix"], bucket=field("Bucket name."), prefix=field("Folder prefix."))),
    },
    "storage/presign": {
        "post": op("A presigned download URL.", body=body(
            ["bucket", "key"], bucket=field("Bucket name."), key=field("Object key."),
            expires=field("Seconds the URL stays valid.", {"type": "integer"}),
            version_id=field("Object version id."))),
    },
    "storage/versions": {"get": op("An object's versions, newest first.", params=(BUCKET, KEY))},
    "storage/pins": {
        "get": op("The workspace's data pins (.hybridhub/data-pins.json)."),
        "post": op("Pin an object version for reproducible runs.", ok=201, body=body(
            ["bucket", "key", "version_id"], bucket=field("Bucket name."), key=field("Object key."),
            version_id=field("The version to pin."))),
        "delete": op("Remove a pin.", params=(BUCKET, KEY), ok=204, answer="none"),
    },
    "storage/transfers": {
        "get": op("The workspace transfers of this server."),
        "post": op("Start a transfer between the store and the workspace.", ok=202, body=body(
            ["direction", "bucket", "key", "path"],
            direction=field("Which way.", {"type": "string", "enum": ["download", "upload"]}),
            bucket=field("Bucket name."), key=field("Object key."),
            path=field("Workspace file, relative to the server root."),
            overwrite=field("Replace an existing file or object.", BOOL),
            version_id=field("Object version id (downloads)."))),
    },
    r"storage/transfers/([0-9a-f]{16})": {
        "get": op("One transfer's state and progress."),
        "delete": op("Cancel a running transfer, or forget a finished one."),
    },
    "git/config": {"get": op("Whether GitLab is configured and a token is present (never the token).")},
    "git/status": {"get": op("Branch, upstream and changed files of the repository holding the folder.",
                             params=(GIT_PATH_Q,))},
    "git/stage": {
        "post": op("Stage (or with 'unstage', unstage) files; no 'files': all changes.", body=body(
            path=GIT_PATH, files=field("Paths relative to the folder.", {"type": "array", "items": STR}),
            unstage=field("Unstage instead.", BOOL))),
    },
    "git/commit": {"post": op("Commit what is staged.", body=body(["message"], path=GIT_PATH, message=field("Commit message.")))},
    "git/push": {"post": op("Push the current branch (the user's GitLab token through GIT_ASKPASS).", body=body(path=GIT_PATH))},
    "git/pull": {"post": op("Pull the current branch.", body=body(path=GIT_PATH))},
    "git/branches": {
        "get": op("Local branches and the current one.", params=(GIT_PATH_Q,)),
        "post": op("Create (and switch to) a branch, or with create=false switch to one.", body=body(
            ["name"], path=GIT_PATH, name=field("Branch name."), create=field("Create it (default).", BOOL),
            switch=field("Switch to it after creating (default).", BOOL))),
    },
    "git/merge-request": {
        "post": op("Open a GitLab merge request from the current branch.", body=body(
            ["title"], path=GIT_PATH, title=field("Title."), description=field("Description."),
            target=field("Target branch; absent: the project's default."))),
    },
    "git/projects": {"get": op("The user's GitLab projects.", params=(query("search", "Only projects matching this text."),))},
    "git/clone": {
        "post": op("Clone a GitLab project into a workspace folder.", body=body(
            ["project"], path=GIT_PATH, project=field("Project path or id."),
            directory=field("Folder name; absent: the project's name."))),
    },
    "pipelines/config": {"get": op("The pipeline backends available, the default one and the data pins.")},
    "pipelines/projects": {"get": op("Projects the backend can run pipelines of.",
                                     params=(query("search", "Only projects matching this text."), BACKEND_Q))},
    "pipelines/refs": {"get": op("A project's branches and tags.", params=(PROJECT_Q, BACKEND_Q))},
    "pipelines/variables": {
        "get": op("The variables of the project's .gitlab-ci.yml at a ref, with pinned data filled in.",
                  params=(PROJECT_Q, query("ref", "Branch or tag; absent: the default branch."), BACKEND_Q)),
    },
    "pipelines/runs": {
        "get": op("A project's recent pipelines.", params=(
            PROJECT_Q, query("limit", "How many (1-100).", {"type": "integer"}), BACKEND_Q)),
        "post": op("Start a pipeline.", ok=201, body=body(
            ["project", "ref"], project=PROJECT, ref=field("Branch or tag."), backend=BACKEND,
            variables=field("Pipeline variables.", {"type": "array", "items": body(
                ["key", "value"], key=field("Name: letters, digits and _."), value=field("Value."))}),
            request_id=field("Client id making a retried launch start one pipeline only."))),
    },
    r"pipelines/runs/(\d+)": {"get": op("One pipeline with its stages and jobs.", params=(PROJECT_Q, BACKEND_Q))},
    r"pipelines/runs/(\d+)/cancel": {"post": op("Cancel a pipeline.", body=body(["project"], project=PROJECT, backend=BACKEND))},
    r"pipelines/runs/(\d+)/jobs/([A-Za-z0-9_.-]+)/(play|retry)": {
        "post": op("Play a manual job, or retry a finished one.", body=body(["project"], project=PROJECT, backend=BACKEND)),
    },
    r"pipelines/runs/(\d+)/jobs/([A-Za-z0-9_.-]+)/trace": {
        "get": op("A job's log from a byte offset.", params=(
            PROJECT_Q, query("offset", "Byte offset.", {"type": "integer", "minimum": 0}), BACKEND_Q)),
    },
    "pipelines/template": {
        "get": op("The ML CI/CD template's files, and which already exist in a folder.",
                  params=(query("path", "Workspace folder."),)),
        "post": op("Add the template to a workspace folder.", ok=201, body=body(
            path=field("Workspace folder ('' = the root)."), overwrite=field("Replace existing files.", BOOL))),
    },
    "models/config": {"get": op("Whether the Models panel is enabled: backend, registry (gitlab, mlflow or none), "
                                "its URL without credentials, the environment that serves.")},
    "models": {"get": op("The project's registered models, each with its latest version and the version in production.",
                         params=(MODEL_PROJECT_Q,))},
    "models/versions": {
        "get": op("A model's versions (metrics side by side, test gate, serving flag), production and who may deploy.",
                  params=(MODEL_PROJECT_Q, MODEL_NAME_Q)),
    },
    "models/lineage": {
        "get": op("A version's lineage: commit, pipeline and jobs, data versions, metrics, gate, image, deployments, "
                  "links, reproducibility.", params=(MODEL_PROJECT_Q, MODEL_NAME_Q,
                                                     query("version", "Semantic version, e.g. 1.0.42.", required=True))),
    },
    "models/promote": {
        "post": op("Deploy a version to production: play (or retry) the deploy job of its pipeline.", body=body(
            ["project", "name", "version"], project=MODEL_PROJECT, name=MODEL_NAME, version=field("Semantic version."))),
    },
    "models/rollback": {
        "post": op("Re-deploy the version of the previous successful deployment (or to_version).", body=body(
            ["project", "name"], project=MODEL_PROJECT, name=MODEL_NAME,
            to_version=field("A version deployed before; absent: the previous one."))),
    },
    "models/reproduce": {
        "post": op("Run the pipeline again at the version's commit with the data versions it read.", ok=201, body=body(
            ["project", "name", "version"], project=MODEL_PROJECT, name=MODEL_NAME, version=field("Semantic version."))),
    },
    "models/health": {
        "get": op("A version's health from its monitoring reports (hybridhub.monitoring/1): {days: [{date, requests, "
                  "drift_share, features, accuracy}], latest: {date, status, alerts, generated_at, json_uri, has_html, "
                  "thresholds, problems} | null, problems: [{code, details?, date?}]}; the reports' store failing is a "
                  "problem code here, never an error.", params=(MODEL_PROJECT_Q, MODEL_NAME_Q, MODEL_VERSION_Q)),
    },
    "models/health/report": {
        "get": op("One day's monitoring report: the job's HTML (sandboxed: no script, no network) or, with "
                  "format=json, its JSON.", answer="html", params=(
                      MODEL_PROJECT_Q, MODEL_NAME_Q, MODEL_VERSION_Q, query("date", "The report's date, YYYY-MM-DD.", required=True),
                      query("format", "'html' (default) or 'json'.", {"type": "string", "enum": ["html", "json"]}))),
    },
    "models/retrain": {
        "post": op("Retrain now: the training pipeline on the default branch with the newest data (DATA_VERSION and "
                   "TEST_DATA_VERSION empty, RETRAIN_FOR = the production version); Developer and above.", ok=201,
                   body=body(["project", "name"], project=MODEL_PROJECT, name=MODEL_NAME)),
    },
}


# ---- building the description from the route table -------------------------------------------
def _route_args(handler: type, method: str) -> list[str]:
    fn = inspect.unwrap(getattr(handler, method))
    return [p for p in inspect.signature(fn).parameters if p != "self"]


def openapi_path(route: str, names: list[str]) -> tuple[str, list[dict]]:
    """``pipelines/runs/(\\d+)`` -> ``/pipelines/runs/{pipeline_id}`` and its path parameters."""
    groups = _GROUP.findall(route)
    if len(groups) != len(names):
        raise ValueError(f"route {route!r} has {len(groups)} groups but its handler takes {names}")
    parts = iter(names)
    path = "/" + _GROUP.sub(lambda m: "{" + next(parts) + "}", route)
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string", "pattern": f"^(?:{group})$"}}
              for name, group in zip(names, groups)]  # fmt: skip
    return path, params


def reasons_of(handler: type) -> dict[str, tuple[int, str]]:
    """Every reason code a route may answer: the shared ones and its area's catalog."""
    return {**RequestError.REASONS, **handler.error_class.REASONS}


def _error_responses(handler: type) -> dict:
    by_status: dict[int, list[str]] = defaultdict(list)
    for reason, (status, _) in reasons_of(handler).items():
        by_status[status].append(reason)
    return {
        str(status): {
            "description": "Error: " + ", ".join(sorted(codes)),
            "content": {"application/json": {"schema": {"allOf": [
                {"$ref": "#/components/schemas/Error"},
                {"properties": {"reason": {"enum": sorted(codes)}}}]}}},
        }
        for status, codes in sorted(by_status.items())
    }  # fmt: skip


def _success(spec: dict) -> dict:
    answer = {"description": "Success"}
    if spec["answer"] == "json":
        answer["content"] = {"application/json": {"schema": OBJECT}}
    elif spec["answer"] == "html":
        answer["content"] = {"text/html": {"schema": STR}, "application/json": {"schema": OBJECT}}
    elif spec["answer"] == "binary":
        answer["content"] = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    return answer


def _operation(route: str, path: str, handler: type, method: str, spec: dict, path_params: list[dict]) -> dict:
    operation = {
        "operationId": method + re.sub(r"[^A-Za-z0-9]+", "_", path).rstrip("_"),
        "tags": [route.split("/")[0].split(".")[0]],
        "summary": spec["summary"],
        "parameters": path_params + spec["params"],
        "responses": {str(spec["ok"]): _success(spec), **_error_responses(handler)},
    }
    if spec["description"]:
        operation["description"] = spec["description"]
    if route == "storage/object" and method == "get":
        operation["responses"]["307"] = {"description": "Redirect to a presigned URL (browser endpoint configured)."}
    if spec["body"] is not None:
        operation["requestBody"] = {"required": False, "content": {"application/json": {"schema": spec["body"]}}}
    elif method == "put":
        operation["requestBody"] = {"required": True, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
    return operation


def build_description(routes: list[tuple[str, type]], server_url: str = "/hybridhub") -> dict:
    """The OpenAPI document of ``routes`` (paths relative to ``server_url``)."""
    paths: dict[str, dict] = {}
    for route, handler in routes:
        specs = OPERATIONS.get(route)
        methods = [m.lower() for m in handler.allowed_methods()]
        if specs is None or sorted(specs) != sorted(methods):
            raise ValueError(f"OPERATIONS[{route!r}] must describe exactly {methods}")
        item = {}
        for method in methods:
            path, path_params = openapi_path(route, _route_args(handler, method))
            item[method] = _operation(route, path, handler, method, specs[method], path_params)
        paths[path] = item
    codes = sorted({code for _, handler in routes for code in reasons_of(handler)})
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": (
            "REST API of hybridhub's jupyter-server extension. Authenticate like any jupyter-server API: "
            "'Authorization: token <token>' (JupyterHub: the user's or the server's API token), or the "
            "browser's cookie with the _xsrf header. Errors are {\"reason\": <code>, \"message\": <English>, "
            "\"details\"?: <text>}; see docs/api.md.")},
        "servers": [{"url": server_url}],
        "security": [{"token": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "Authorization",
                                          "description": "'token <API token>'"}},
            "schemas": {"Error": {"type": "object", "required": ["message", "reason"], "properties": {
                "message": {"type": "string", "description": "English, safe to show; never a secret."},
                "reason": {"type": "string", "enum": codes, "description": "Stable code; the frontend translates it."},
                "details": {"type": "string", "description": "More detail (command output, names), never a secret."},
            }}},
        },
    }  # fmt: skip


class OpenAPIHandler(HybridHubHandler):
    """``GET hybridhub/openapi.json``: the description, behind the same authentication as every route."""

    @web.authenticated
    @authorized
    def get(self):
        from .routes import ROUTES  # the route table imports this handler

        base = self.settings.get("base_url", "/")
        self.set_header("Cache-Control", "no-store")
        self.reply(build_description(ROUTES, base.rstrip("/") + "/hybridhub"))
