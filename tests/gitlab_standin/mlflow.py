"""TEST DOUBLE of GitLab's MLflow-compatible API: experiments and runs (this module), the model
registry and the files (mlflow_registry.py), for the real MLflow client pointed at
``<gitlab>/api/v4/projects/<id>/ml/mlflow`` with ``MLFLOW_TRACKING_TOKEN``.

Reproduced from gitlabhq: lib/api/ml/mlflow/entrypoint.rb (``api`` scope, ``read_api`` for GET/HEAD;
every answer 200), lib/api/ml/mlflow/api_helpers.rb (read: ``read_model_experiments`` else 404,
write: ``write_model_experiments`` else 401; structured errors RESOURCE_DOES_NOT_EXIST 404,
RESOURCE_ALREADY_EXISTS 400, INVALID_PARAMETER_VALUE 400), app/policies/project_policy.rb (read:
Guest+ on a private project, write: Developer+), lib/api/ml/mlflow/experiments.rb and runs.rb,
app/services/ml/experiment_tracking/candidate_repository.rb and
handle_candidate_gitlab_metadata_service.rb (the ``gitlab.CI_JOB_ID`` tag links the run to a job).

What GitLab's answers mean for a client (each reproduced here, see tests/gitlab/test_standin_mlflow.py):
- ``create_model_version(run_id=…)`` promotes a run only if it is in the model's experiment
  ``[model]<name>`` (created with the model), else "Run's experiment does not belong to this model";
- a model version's ``version`` is its database id; ``get_model_version``/``update_model_version``/
  ``get_model_version_by_alias`` take the SEMANTIC version; ``get-download-uri`` takes the id;
  ``models:/<name>/<id>`` downloads its files; ``mlflow-artifacts:/<id>`` through
  ``mlflow.artifacts.download_artifacts`` does not (the client drops the project path for a root);
- a run's params and tags are written once: a second ``set_tag``/``log_param`` of a key is 400,
  ``log_batch`` skips it silently; ``search_runs`` ignores ``filter_string`` and refuses a list ``order_by``;
- MLflow 3's ``search_registered_models`` always adds a prompt-tag filter GitLab cannot parse:
  refused without a name filter, nothing found with one; use ``get_registered_model(name)``;
- POST reads (runs/search, get-latest-versions) need the ``api`` scope, not ``read_api``;
- ``gitlab.CI_JOB_ID`` must be an existing job id (else GitLab answers 500).

Install with ``state = install(gitlab)``. MLflow endpoints GitLab does not implement answer
Grape's catch-all 404 (lib/api/api.rb ``route :any, '*path'``) and are listed in ``state.refused``;
anything else unknown is a stand-in violation as usual.
"""

from __future__ import annotations

import random

from .mlflow_http import (Refusal, _json, already_exists, coerce, dict_list, handler, invalid, not_exist, page,
                          require, tag_pairs)  # fmt: skip
from .mlflow_state import MlflowState

P = r"/api/v4/projects/([^/]+)/ml/mlflow/api/2\.0/mlflow"
STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")  # Ml::Candidate.statuses, upcased


# ---- experiments (lib/api/ml/mlflow/experiments.rb) ------------------------------------------
def _experiment(gitlab, project, p):
    found = gitlab.mlflow.experiment(project.id, iid=p.get("experiment_id") or None, name=p.get("experiment_name"))
    if found is None:
        raise Refusal(not_exist())
    return found


@handler()
def get_experiment(gitlab, user, project, p):
    return _json({"experiment": gitlab.mlflow.experiment_json(_experiment(gitlab, project, p))})


@handler()
def list_experiments(gitlab, user, project, p):
    mine = [e for e in gitlab.mlflow.experiments if e.project_id == project.id]
    return _json({"experiments": [gitlab.mlflow.experiment_json(e) for e in mine]})


@handler()
def search_experiments(gitlab, user, project, p):
    """``order_by`` is a String param: the MLflow client's list fails Grape's type check."""
    order = coerce(p, "order_by", str, "created_at DESC") or "created_at DESC"
    column, _, direction = order.lower().partition(" ")
    key = (lambda e: e.name) if column == "name" else (lambda e: (e.created, e.iid))
    mine = sorted((e for e in gitlab.mlflow.experiments if e.project_id == project.id), key=key,
                  reverse=(direction or "asc") == "desc")  # fmt: skip
    chunk, token = page(p, mine)
    return _json({"experiments": [gitlab.mlflow.experiment_json(e) for e in chunk], "next_page_token": token})


@handler(write=True)
def create_experiment(gitlab, user, project, p):
    name = require(p, "name")
    if gitlab.mlflow.experiment(project.id, name=name):  # ActiveRecord::RecordInvalid: resource_already_exists!
        return already_exists()
    tags = [(t.get("key"), t.get("value")) for t in p.get("tags") or []]
    experiment = gitlab.mlflow.add_experiment(project.id, name, user.id, tags)
    return _json({"experiment_id": str(experiment.iid)})


@handler(write=True)
def set_experiment_tag(gitlab, user, project, p):
    experiment = _experiment(gitlab, project, {"experiment_id": require(p, "experiment_id")})
    experiment.tags.append(tuple(require(p, "key", "value")))
    return _json({})


@handler(write=True)
def delete_experiment(gitlab, user, project, p):
    """Ml::DestroyExperimentService refuses an experiment with a model (its default experiment)."""
    experiment = _experiment(gitlab, project, {"experiment_id": require(p, "experiment_id")})
    if experiment.model is not None:
        return _json({"message": "Cannot delete an experiment associated to a model"}, 400)
    gitlab.mlflow.experiments.remove(experiment)
    gitlab.mlflow.runs[:] = [r for r in gitlab.mlflow.runs if r.experiment is not experiment]
    return _json({})


# ---- runs (lib/api/ml/mlflow/runs.rb) ---------------------------------------------------------
def _run(gitlab, project, p):
    run = gitlab.mlflow.run(project.id, require(p, "run_id"))
    if run is None:
        raise Refusal(not_exist())
    return run


def _link_job(gitlab, run, tags) -> None:
    """HandleCandidateGitlabMetadataService: ``gitlab.CI_JOB_ID`` must name an existing build
    (Ci::Build.find_by_id, any project), else ArgumentError, which the API answers 500."""
    job_id = next((v for k, v in tags if k == "gitlab.CI_JOB_ID"), None)
    if job_id is None:
        return
    jobs = getattr(getattr(gitlab, "ci", None), "jobs", {})
    if not str(job_id).isdigit() or int(job_id) not in jobs:
        gitlab.violation(500, f"gitlab.CI_JOB_ID {job_id!r} is no job GitLab knows (GitLab answers 500)")
        raise Refusal(_json({"message": "500 Internal Server Error"}, 500))
    run.ci_job_id = int(job_id)


@handler(write=True)
def create_run(gitlab, user, project, p):
    """CandidateRepository#create!: the name is ``run_name``, else the ``mlflow.runName`` tag, else a
    random nickname (16.3, Ml::CreateCandidateService); tags are stored as given."""
    experiment = gitlab.mlflow.experiment(project.id, iid=require(p, "experiment_id", kind=int))
    if experiment is None:
        return not_exist()
    tags = tag_pairs(p)
    name = p.get("run_name") or next((v for k, v in tags if k == "mlflow.runName"), None)
    name = name or "-".join((random.choice(["brave", "calm", "keen"]), random.choice(["fox", "owl", "elk"]),
                             str(random.randint(1, 999))))  # fmt: skip
    run = gitlab.mlflow.add_run(experiment, user.id, name, coerce(p, "start_time", int, 0))
    try:
        _link_job(gitlab, run, tags)
    except Refusal:
        gitlab.mlflow.runs.remove(run)
        raise
    run.tags.extend(tags)
    return _json({"run": gitlab.mlflow.run_json(run)})


@handler()
def get_run(gitlab, user, project, p):
    return _json({"run": gitlab.mlflow.run_json(_run(gitlab, project, p))})


@handler()
def search_runs(gitlab, user, project, p):
    """ONE experiment (``experiment_ids[0]``); ``filter`` is not a declared param: it is IGNORED
    and every run of the experiment comes back. Order: created_at DESC, ``name``, or
    ``metrics.<key>`` (runs without that metric are left out: an inner join)."""
    ids = require(p, "experiment_ids", kind=list)
    experiment = gitlab.mlflow.experiment(project.id, iid=ids[0]) if ids else None
    if experiment is None:
        return not_exist()
    order = coerce(p, "order_by", str, "") or "created_at DESC"
    column, _, direction = order.partition(" ")
    runs = [r for r in gitlab.mlflow.runs if r.experiment is experiment]
    if column.startswith("metrics."):
        key = column[len("metrics."):]

        def value(r):
            return [m["value"] for m in r.metrics if m["key"] == key][-1]

        runs = sorted((r for r in runs if any(m["key"] == key for m in r.metrics)), key=value,
                      reverse=direction.upper() != "ASC")  # fmt: skip
    else:
        sort_key = (lambda r: r.name or "") if column == "name" else (lambda r: (r.created, r.iid))
        runs = sorted(runs, key=sort_key, reverse=direction.upper() != "ASC")
    chunk, token = page(p, runs)
    return _json({"runs": [gitlab.mlflow.run_json(r) for r in chunk], "next_page_token": token})


@handler(write=True)
def update_run(gitlab, user, project, p):
    run = _run(gitlab, project, p)
    status = coerce(p, "status", str)
    if status is not None and status not in STATUSES:
        return _json({"error": "status does not have a valid value"}, 400)
    end_time = coerce(p, "end_time", int)
    if status:
        run.status = status.lower()
    if end_time is not None:
        run.end_time = end_time
    return _json({"run_info": gitlab.mlflow.run_info_json(run)})


def _metric(p) -> dict:
    key, value, timestamp = require(p, "key"), require(p, "value", kind=float), require(p, "timestamp", kind=int)
    metric = {"key": key, "value": value, "timestamp": timestamp}
    step = coerce(p, "step", int)
    return metric if step is None else {**metric, "step": step}


@handler(write=True)
def log_metric(gitlab, user, project, p):
    run = _run(gitlab, project, p)
    run.metrics.append(_metric(p))
    return _json({})


@handler(write=True)
def log_parameter(gitlab, user, project, p):
    """A param is logged once: a second one with the same key fails its uniqueness validation,
    which the entrypoint's ``rescue_from ActiveRecord::ActiveRecordError`` answers 400."""
    run = _run(gitlab, project, p)
    key, value = require(p, "key", "value")
    if key in run.params:
        return invalid("Validation failed: Name has already been taken")
    run.params[key] = value
    return _json({})


@handler(write=True)
def set_tag(gitlab, user, project, p):
    """Tags are not updated: a second ``set-tag`` with the same key is refused (400) like params."""
    run = _run(gitlab, project, p)
    key, value = require(p, "key", "value")
    if run.tag(key) is not None:
        return invalid("Validation failed: Name has already been taken")
    _link_job(gitlab, run, [(key, value)])
    run.tags.append((key, value))
    return _json({})


@handler(write=True)
def log_batch(gitlab, user, project, p):
    """``insert_all``: every metric is added; params and tags whose key already exists are
    silently skipped (duplicates ignored, runs_spec.rb "does not log" / "logs only 1")."""
    run = _run(gitlab, project, p)
    metrics = [_metric(m) for m in dict_list(p, "metrics")]
    batch_params = [(require(x, "key"), require(x, "value")) for x in dict_list(p, "params")]
    tags = tag_pairs(p)
    _link_job(gitlab, run, tags)
    run.metrics.extend(metrics)
    for key, value in batch_params:
        run.params.setdefault(key, value)
    for key, value in tags:
        if run.tag(key) is None:
            run.tags.append((key, value))
    return _json({})


@handler(write=True)
def delete_run(gitlab, user, project, p):
    """Ml::DestroyCandidateService keeps a run that backs a model version."""
    run = _run(gitlab, project, p)
    if run.model_version is not None:
        return _json({"message": "Cannot delete a candidate associated to a model version"}, 400)
    gitlab.mlflow.runs.remove(run)
    return _json({})


# ---- what GitLab does not implement -------------------------------------------------------------
def refused(gitlab, request, ref, *rest):
    """No Grape route: the catch-all answers 404 ``{"error": "404 Not Found"}``."""
    gitlab.mlflow.refused.append(f"{request.method} {request.path}")
    return _json({"error": "404 Not Found"}, 404)


_REFUSED = [  # MLflow REST endpoints absent from lib/api/ml/mlflow/*.rb
    ("POST", P + r"/registered-models/alias"), ("DELETE", P + r"/registered-models/alias"),
    ("POST", P + r"/registered-models/rename"), ("POST", P + r"/registered-models/set-tag"),
    ("DELETE", P + r"/registered-models/delete-tag"), ("POST", P + r"/model-versions/transition-stage"),
    ("GET", P + r"/model-versions/search"), ("DELETE", P + r"/model-versions/delete"),
    ("POST", P + r"/model-versions/set-tag"), ("DELETE", P + r"/model-versions/delete-tag"),
    ("POST", P + r"/runs/restore"), ("POST", P + r"/runs/delete-tag"), ("POST", P + r"/experiments/update"),
    *[(m, P + r"/logged-models(/.*)?") for m in ("GET", "POST", "PATCH", "DELETE")],
    # MLflow 3's client probes the server's capabilities before some artifact operations
    ("GET", r"/api/v4/projects/([^/]+)/ml/mlflow/api/3\.0/mlflow/server-info"),
    # lib/api/ml/mlflow_artifacts/artifacts.rb has GET only: files are uploaded to the ml_models package
    ("PUT", r"/api/v4/projects/([^/]+)/ml/mlflow/api/2\.0/mlflow-artifacts/artifacts/.*"),
]  # fmt: skip

_RUN = ["run_id", "run_uuid"]
ROUTES = [
    ("GET", P + r"/experiments/get", get_experiment, ["experiment_id"]),
    ("GET", P + r"/experiments/get-by-name", get_experiment, ["experiment_name"]),
    ("GET", P + r"/experiments/list", list_experiments, ["view_type", "max_results", "page_token"]),
    ("POST", P + r"/experiments/search", search_experiments, []),
    ("POST", P + r"/experiments/create", create_experiment, []),
    ("POST", P + r"/experiments/set-experiment-tag", set_experiment_tag, []),
    ("POST", P + r"/experiments/delete", delete_experiment, []),
    ("POST", P + r"/runs/create", create_run, []),
    ("GET", P + r"/runs/get", get_run, _RUN),
    ("POST", P + r"/runs/search", search_runs, []),
    ("POST", P + r"/runs/update", update_run, []),
    ("POST", P + r"/runs/log-metric", log_metric, []),
    ("POST", P + r"/runs/log-parameter", log_parameter, []),
    ("POST", P + r"/runs/set-tag", set_tag, []),
    ("POST", P + r"/runs/log-batch", log_batch, []),
    ("POST", P + r"/runs/delete", delete_run, []),
    *[(method, pattern, refused, None) for method, pattern in _REFUSED],
]


def install(gitlab) -> MlflowState:
    """Add the MLflow API, the registry and its files to a running stand-in; returns the state."""
    from . import mlflow_registry

    gitlab.mlflow = MlflowState(gitlab)
    gitlab.routes = gitlab.routes + mlflow_registry.ROUTES + ROUTES
    return gitlab.mlflow
