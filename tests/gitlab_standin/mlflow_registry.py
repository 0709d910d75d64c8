"""TEST DOUBLE of GitLab's model registry behind the MLflow client API, and of the model files.

Reproduced from gitlabhq: lib/api/ml/mlflow/registered_models.rb and model_versions.rb (with
api_helpers.rb: ``gitlab.version`` tag = the version, ``find_model_version`` by SEMANTIC version,
``get-download-uri`` answers ``mlflow-artifacts:/<model version id>`` without a look-up),
app/services/ml/create_model_service.rb (a model creates its experiment ``[model]<name>``),
app/services/ml/create_model_version_service.rb (semver check, the run to promote: its refusals),
app/services/ml/increment_version_service.rb (no version given: 1.0.0, then the next MAJOR),
lib/api/ml_model_packages.rb + doc/api/model_registry.md (files:
``/projects/:id/packages/ml_models/:model_version_id/files/(*path/):file_name``, ``candidate:<iid>``
for a run; upload Developer+ ``create_package``, download Reporter+ ``read_package``) and
lib/api/ml/mlflow_artifacts/artifacts.rb (``mlflow-artifacts`` GET only: list and download).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from .mlflow import P
from .mlflow_http import Refusal, _json, already_exists, coerce, handler, invalid, not_exist, page, require, tag_pairs
from .mlflow_state import Model, ModelVersion, semver_key
from .state import DEVELOPER, REPORTER

# Packages::SemVer (lib/packages/sem_ver.rb): MAJOR.MINOR.PATCH[-prerelease][+build]
SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?")
MODEL_EXPERIMENT_PREFIX = "[model]"


def _model(gitlab, project, p):
    """``find_model``: a missing name or model is RESOURCE_DOES_NOT_EXIST."""
    model = gitlab.mlflow.model(project.id, p.get("name") or "")
    if model is None:
        raise Refusal(not_exist())
    return model


# ---- registered models ----------------------------------------------------------------------------
@handler(write=True)
def create_model(gitlab, user, project, p):
    """Ml::CreateModelService: the experiment ``[model]<name>`` is created first; a taken model
    name or experiment name fails the service, answered RESOURCE_ALREADY_EXISTS."""
    state = gitlab.mlflow
    name = require(p, "name")
    experiment_name = MODEL_EXPERIMENT_PREFIX + name
    if state.model(project.id, name) or state.experiment(project.id, name=experiment_name):
        return already_exists()
    experiment = state.add_experiment(project.id, experiment_name, user.id)
    model = Model(next(state.ids), project.id, name, coerce(p, "description", str, "") or "", user.id, experiment,
                  tag_pairs(p))  # fmt: skip
    experiment.model = model
    state.models.append(model)
    return _json({"registered_model": state.model_json(model)})


@handler()
def get_model(gitlab, user, project, p):
    return _json({"registered_model": gitlab.mlflow.model_json(_model(gitlab, project, p))})


@handler(write=True)
def update_model(gitlab, user, project, p):
    model = _model(gitlab, project, p)
    if p.get("description") is not None:
        model.description = coerce(p, "description", str)
    return _json({"registered_model": gitlab.mlflow.model_json(model)})


@handler(write=True)
def delete_model(gitlab, user, project, p):
    """Ml::DestroyModelService: the model, its versions (and their runs and files)."""
    state = gitlab.mlflow
    model = _model(gitlab, project, p)
    state.models.remove(model)
    state.runs[:] = [r for r in state.runs if r.model_version is None or r.model_version.model is not model]
    return _json({})


@handler()
def search_models(gitlab, user, project, p):
    """Only ``name=<value>`` filters: model_filter_params does Ruby's ``param, filter =
    filter.split('=')`` (the text after a second ``=`` is dropped) and strips one outer quote
    (OUTER_QUOTES_REGEXP); any other filter is INVALID_PARAMETER_VALUE. The finder matches the name
    partially. ``order_by``: name (default, ASC) or last_updated_timestamp.
    (MLflow 3's client appends `` AND tag.`mlflow.prompt.is_prompt` != 'true'`` to every filter:
    GitLab then refuses an empty filter and finds nothing for a name filter.)"""
    name = None
    if p.get("filter") is not None:
        parts = str(p["filter"]).split("=")
        if parts[0] != "name" or len(parts) < 2:
            return invalid("Invalid attribute key specified. Valid keys are '{'name'}'")
        name = re.sub(r"""^("|')|("|')?$""", "", parts[1])
    order = str(p.get("order_by") or "name ASC").lower().split(" ")
    sort_key = (lambda m: m.updated) if order[0] == "last_updated_timestamp" else (lambda m: m.name)
    models = sorted((m for m in gitlab.mlflow.models if m.project_id == project.id and (name is None or name in m.name)),
                    key=sort_key, reverse=order[-1] == "desc")  # fmt: skip
    chunk, token = page(p, models)
    return _json({"registered_models": [gitlab.mlflow.model_json(m) for m in chunk], "next_page_token": token})


@handler()
def latest_versions(gitlab, user, project, p):
    """``[model.latest_version]``: ONE version, the highest semantic version; ``stages`` ignored.
    (POST: a ``read_api`` token cannot call it.)"""
    model = _model(gitlab, project, p)
    if not model.versions:
        gitlab.violation(500, f"get-latest-versions of {model.name!r}, which has no version: GitLab presents [nil]")
        return _json({"message": "stand-in: latest version of a model without versions"}, 500)
    latest = max(model.versions, key=lambda v: semver_key(v.version))
    return _json({"model_versions": [gitlab.mlflow.model_version_json(latest)]})


@handler()
def get_by_alias(gitlab, user, project, p):
    """The only alias of a version is its semantic version (ModelVersion entity ``aliases``)."""
    found = gitlab.mlflow.model_version(project.id, p.get("name") or "", p.get("alias") or "")
    return _json({"model_version": gitlab.mlflow.model_version_json(found)}) if found else not_exist()


# ---- model versions ----------------------------------------------------------------------------------
@handler(write=True)
def create_version(gitlab, user, project, p):
    """Ml::CreateModelVersionService in its transaction: version from the ``gitlab.version`` tag or
    the next major; semver check; unique per model; then the run: given ``run_id`` it must exist in
    the project, have no version yet and belong to the model's experiment ``[model]<name>``;
    without it a new run is made in that experiment. Any refusal leaves nothing behind."""
    state = gitlab.mlflow
    model = _model(gitlab, project, p)
    tags = tag_pairs(p)
    keys = [k for k, _ in tags]
    if len(set(keys)) != len(keys):
        return invalid(["Validation failed: Name has already been taken"])
    version = dict((k[len("gitlab."):], v) for k, v in tags if k.startswith("gitlab.")).get("version")
    if version is None:
        version = str(max((semver_key(v.version)[0] for v in model.versions), default=(0, 0, 0))[0] + 1) + ".0.0"
    if not SEMVER.fullmatch(version):
        return invalid(["Version must be semantic version"])
    if any(v.version == version for v in model.versions):
        return invalid(["Version has already been taken"])
    run_id = coerce(p, "run_id", str)
    if run_id:
        run = state.run(project.id, run_id)
        if run is None:
            return invalid(["Run not found"])
        if run.model_version is not None:
            return invalid(["Run has already a model version"])
        if run.experiment is not model.experiment:
            return invalid(["Run's experiment does not belong to this model"])
    else:
        run = state.add_run(model.experiment, user.id, None, 0)
    mv = ModelVersion(next(state.ids), model, version, coerce(p, "description", str, "") or "", run, tags)
    run.model_version = mv
    model.versions.append(mv)
    return _json({"model_version": state.model_version_json(mv)})


@handler()
def get_version(gitlab, user, project, p):
    name, version = require(p, "name", "version")
    found = gitlab.mlflow.model_version(project.id, name, version)
    return _json({"model_version": gitlab.mlflow.model_version_json(found)}) if found else not_exist()


@handler(write=True)
def update_version(gitlab, user, project, p):
    """name, version (semantic) and description are all needed: else INVALID_PARAMETER_VALUE;
    a version that is not there: UPDATE_FAILED."""
    if not (p.get("name") and p.get("version") and p.get("description")):
        return invalid()
    found = gitlab.mlflow.model_version(project.id, str(p["name"]), str(p["version"]))
    if found is None:
        return _json({"error_code": "UPDATE_FAILED"}, 400)
    found.description = str(p["description"])
    return _json({"model_version": gitlab.mlflow.model_version_json(found)})


@handler()
def download_uri(gitlab, user, project, p):
    """``present params[:version]``: the version is an Integer param (the model version ID), not
    looked up."""
    require(p, "name")
    return _json({"artifact_uri": f"mlflow-artifacts:/{require(p, 'version', kind=int)}"})


# ---- files ---------------------------------------------------------------------------------------------
def _package(gitlab, project, package_id: str):
    """The run whose package ``package_id`` names: ``candidate:<iid>`` or a model version id."""
    package_id = unquote(package_id)
    if package_id.startswith("candidate:"):
        iid = package_id[len("candidate:"):]
        return next((r for r in gitlab.mlflow.runs if r.experiment.project_id == project.id and str(r.iid) == iid), None)
    found = gitlab.mlflow.version_by_id(project.id, package_id)
    return found.run if found else None


@handler(body=False)
def upload_file(gitlab, user, project, p, package_id, path):
    """PUT a file: Developer+ (``authorize_upload!``: create_package), 201 ``201 Created``; a
    package that is not there: CreatePackageFileService fails, ``Package creation failed``."""
    if project.level(user) < DEVELOPER:
        return _json({"message": "403 Forbidden"}, 403)
    run = _package(gitlab, project, package_id)
    if run is None:
        return _json({"message": "400 Bad request - Package creation failed"}, 400)
    run.files[unquote(path)] = p["_body"]
    return _json({"message": "201 Created"}, 201)


@handler()
def download_file(gitlab, user, project, p, package_id, path):
    """GET a file: Reporter+ (``authorize_read_package!``); PackageFinder#execute! raises
    RecordNotFound, which the API answers ``404 Not found``."""
    from .server import Response

    if project.level(user) < REPORTER:
        return _json({"message": "403 Forbidden"}, 403)
    run = _package(gitlab, project, package_id)
    if run is None or unquote(path) not in run.files:
        return _json({"message": "404 Not found"}, 404)
    return Response(200, run.files[unquote(path)], {"Content-Type": "application/octet-stream"})


@handler()
def list_artifacts(gitlab, user, project, p):
    """``path`` = ``<model version id>[/<sub path>]`` (or ``candidate:<iid>``): a sub path lists
    nothing (MLflow probes directories so); else every file of the package, never a directory."""
    if not p.get("path"):
        gitlab.violation(500, "mlflow-artifacts listing without path: GitLab fails on nil.split")
        return _json({"message": "500 Internal Server Error"}, 500)
    package_id, _, sub = str(p["path"]).partition("/")
    run = _package(gitlab, project, package_id)
    if run is None:
        return not_exist()
    files = [] if sub else [{"path": k, "file_size": len(v), "is_dir": False} for k, v in sorted(run.files.items())]
    return _json({"files": files})


@handler()
def get_artifact(gitlab, user, project, p, package_id, path):
    from .server import Response

    run = _package(gitlab, project, package_id)
    if run is None or unquote(path) not in run.files:
        return not_exist()
    return Response(200, run.files[unquote(path)], {"Content-Type": "application/octet-stream"})


_PACKAGE = r"/api/v4/projects/([^/]+)/packages/ml_models/([^/]+)/files/(.+)"
_ARTIFACTS = r"/api/v4/projects/([^/]+)/ml/mlflow/api/2\.0/mlflow-artifacts/artifacts"
ROUTES = [
    ("POST", P + r"/registered-models/create", create_model, []),
    ("GET", P + r"/registered-models/get", get_model, ["name"]),
    ("PATCH", P + r"/registered-models/update", update_model, []),
    ("DELETE", P + r"/registered-models/delete", delete_model, []),
    ("GET", P + r"/registered-models/search", search_models, ["filter", "max_results", "order_by", "page_token"]),
    ("POST", P + r"/registered-models/get-latest-versions", latest_versions, []),
    ("GET", P + r"/registered-models/alias", get_by_alias, ["name", "alias"]),
    ("POST", P + r"/model-versions/create", create_version, []),
    ("GET", P + r"/model-versions/get", get_version, ["name", "version"]),
    ("PATCH", P + r"/model-versions/update", update_version, []),
    ("GET", P + r"/model-versions/get-download-uri", download_uri, ["name", "version"]),
    ("PUT", _PACKAGE, upload_file, []),
    ("GET", _PACKAGE, download_file, []),
    ("GET", _ARTIFACTS, list_artifacts, ["path"]),
    ("GET", _ARTIFACTS + r"/([^/]+)/(.+)", get_artifact, []),
]
