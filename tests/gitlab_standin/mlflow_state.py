"""TEST DOUBLE of GitLab's model experiments and model registry records, and the JSON entities
its MLflow-compatible API presents them with.

Records (gitlabhq app/models/ml/): an experiment has a per-project ``iid`` (its MLflow
``experiment_id``); a candidate (an MLflow run) has a UUID ``eid`` (its ``run_id``) and a
per-project ``iid`` (app/models/ml/candidate.rb: ``attribute :eid, default: SecureRandom.uuid``,
``has_internal_id :internal_id, scope: :project``); a model owns a default experiment named
``[model]<name>`` (app/services/ml/create_model_service.rb, Ml::Model.prefixed_experiment; docs:
doc/user/project/ml/experiment_tracking/mlflow_client.md "Logging runs to a model"); a model version
has a database ``id`` and a semantic ``version`` and is always backed by one candidate
(app/services/ml/create_model_version_service.rb). Files live in the candidate's package.
"""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass, field


@dataclass(eq=False)
class Experiment:
    iid: int
    project_id: int
    name: str
    user_id: int
    tags: list[tuple[str, str]] = field(default_factory=list)
    model: "Model | None" = None  # the model whose default experiment this is
    created: float = field(default_factory=time.time)


@dataclass(eq=False)
class Run:
    """An ``Ml::Candidate``."""

    eid: str
    iid: int
    experiment: Experiment
    user_id: int
    name: str | None
    start_time: int = 0
    end_time: int | None = None
    status: str = "running"  # Ml::Candidate.statuses: running scheduled finished failed killed
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[dict] = field(default_factory=list)  # every logged value, in order
    tags: list[tuple[str, str]] = field(default_factory=list)  # Ml::CandidateMetadata
    model_version: "ModelVersion | None" = None
    files: dict[str, bytes] = field(default_factory=dict)  # the package's files, by path
    ci_job_id: int | None = None  # Ml::Candidate#ci_build, set from the gitlab.CI_JOB_ID tag
    created: float = field(default_factory=time.time)

    def tag(self, key: str) -> str | None:
        return next((v for k, v in self.tags if k == key), None)


@dataclass(eq=False)
class Model:
    id: int
    project_id: int
    name: str
    description: str
    user_id: int
    experiment: Experiment
    tags: list[tuple[str, str]] = field(default_factory=list)
    versions: list["ModelVersion"] = field(default_factory=list)
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)


@dataclass(eq=False)
class ModelVersion:
    id: int
    model: Model
    version: str
    description: str
    run: Run
    tags: list[tuple[str, str]] = field(default_factory=list)
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)


def semver_key(version: str) -> tuple:
    """Order of semantic versions (pre-releases before their release)."""
    core, _, pre = version.split("+")[0].partition("-")
    return tuple(int(p) for p in core.split(".")), pre == "", pre


class MlflowState:
    """What GitLab's database holds for experiments, runs, models and versions (all projects)."""

    def __init__(self, gitlab) -> None:
        self.gitlab = gitlab
        self.experiments: list[Experiment] = []
        self.runs: list[Run] = []
        self.models: list[Model] = []
        self.ids = itertools.count(1)  # database ids of models and model versions
        self.refused: list[str] = []  # MLflow endpoints GitLab does not implement, as they were called

    # ---- look-ups (also for tests) ----------------------------------------------------------
    def experiment(self, project_id: int, iid=None, name=None) -> Experiment | None:
        for e in self.experiments:
            if e.project_id == project_id and (str(e.iid) == str(iid) if iid not in (None, "") else e.name == name):
                return e
        return None

    def run(self, project_id: int, eid: str) -> Run | None:
        return next((r for r in self.runs if r.experiment.project_id == project_id and r.eid == eid), None)

    def model(self, project_id: int, name: str) -> Model | None:
        return next((m for m in self.models if m.project_id == project_id and m.name == name), None)

    def model_version(self, project_id: int, name: str, version: str) -> ModelVersion | None:
        """Ml::ModelVersion.by_project_id_name_and_version: found by its SEMANTIC version."""
        model = self.model(project_id, name)
        return next((v for v in model.versions if v.version == version), None) if model else None

    def version_by_id(self, project_id: int, version_id) -> ModelVersion | None:
        return next((v for m in self.models if m.project_id == project_id for v in m.versions
                     if str(v.id) == str(version_id)), None)  # fmt: skip

    # ---- creation -------------------------------------------------------------------------------
    def add_experiment(self, project_id: int, name: str, user_id: int, tags=()) -> Experiment:
        iid = 1 + max((e.iid for e in self.experiments if e.project_id == project_id), default=0)
        experiment = Experiment(iid, project_id, name, user_id, list(tags))
        self.experiments.append(experiment)
        return experiment

    def add_run(self, experiment: Experiment, user_id: int, name: str | None, start_time: int) -> Run:
        iid = 1 + max((r.iid for r in self.runs if r.experiment.project_id == experiment.project_id), default=0)
        run = Run(str(uuid.uuid4()), iid, experiment, user_id, name, start_time)
        self.runs.append(run)
        return run

    # ---- JSON entities (lib/api/entities/ml/mlflow/*.rb) ---------------------------------------
    def experiment_json(self, e: Experiment) -> dict:
        """Entities::Ml::Mlflow::Experiment."""
        return {"experiment_id": str(e.iid), "name": e.name, "lifecycle_stage": "active",
                "artifact_location": "not_implemented", "tags": _key_values(e.tags)}  # fmt: skip

    def artifact_uri(self, r: Run) -> str:
        """RunInfo#artifact_uri: the ml_models package of the run's model version, or of the run
        itself (``candidate:<iid>``): /api/v4/projects/:id/packages/ml_models/:model_version_id/files/."""
        package = r.model_version.id if r.model_version else f"candidate:{r.iid}"
        return f"{self.gitlab.url}/api/v4/projects/{r.experiment.project_id}/packages/ml_models/{package}/files/"

    def run_info_json(self, r: Run) -> dict:
        """Entities::Ml::Mlflow::RunInfo (end_time and run_name only when set: expose_nil false)."""
        info = {"run_id": r.eid, "run_uuid": r.eid, "experiment_id": str(r.experiment.iid),
                "start_time": r.start_time or 0, "end_time": r.end_time, "run_name": r.name,
                "status": r.status.upper(), "artifact_uri": self.artifact_uri(r), "lifecycle_stage": "active",
                "user_id": str(r.user_id)}  # fmt: skip
        return {k: v for k, v in info.items() if v is not None or k not in ("end_time", "run_name")}

    def run_json(self, r: Run) -> dict:
        """Entities::Ml::Mlflow::Run: data.metrics are the LATEST value of each metric."""
        latest: dict[str, dict] = {}
        for m in r.metrics:
            latest[m["key"]] = m
        return {"info": self.run_info_json(r),
                "data": {"metrics": list(latest.values()), "params": _key_values(r.params.items()),
                         "tags": _key_values(r.tags)}}  # fmt: skip

    def model_version_json(self, v: ModelVersion) -> dict:
        """Entities::Ml::Mlflow::ModelVersion: ``version`` is the DATABASE ID, the semantic version
        is in ``aliases``; timestamps are seconds (created_at.to_i); user_id is nil."""
        project = self.gitlab.world.projects[v.model.project_id]
        return {
            "name": v.model.name, "version": str(v.id), "creation_timestamp": int(v.created),
            "last_updated_timestamp": int(v.updated), "user_id": None, "current_stage": "development",
            "description": v.description,
            "source": f"{self.gitlab.url}/{project.path_with_namespace}/-/ml/models/{v.model.id}/versions/{v.id}",
            "run_id": v.run.eid, "status": "READY", "status_message": "", "tags": _key_values(v.tags),
            "run_link": "", "aliases": [v.version],
        }  # fmt: skip

    def model_json(self, m: Model) -> dict:
        """Entities::Ml::Mlflow::RegisteredModel: ``latest_versions`` exposes ALL versions."""
        return {"name": m.name, "creation_timestamp": int(m.created), "last_updated_timestamp": int(m.updated),
                "description": m.description, "user_id": str(m.user_id), "tags": _key_values(m.tags),
                "latest_versions": [self.model_version_json(v) for v in m.versions]}  # fmt: skip


def _key_values(pairs) -> list[dict]:
    """Entities::Ml::Mlflow::KeyValue."""
    return [{"key": k, "value": v} for k, v in pairs]
