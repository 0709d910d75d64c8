"""lineage.json: what made this model, written cumulatively by each job of the pipeline.

    {"model": {"name", "version", "registry_version", "run_id"}, "commit", "project", "pipeline_id",
     "jobs": {"train", "test", "build"}, "data": {"train": {...}, "test": {...}},
     "metrics": {...}, "gate": {"passed", "reasons"}, "image": {"ref", "digest"} | {"context_digest", "built": false},
     "reproduces": semver | null}

Each job reads the file its needs brought (a CI artifact), adds its part and writes it back
atomically; the build job logs the result to the model's run. Deployments are not in it: they
live in the environment (GitLab's, or the local backend's production.json).
Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

LINEAGE_FILE = "lineage.json"


def pipeline_id() -> str:
    """The pipeline's id: the local backend's, else GitLab's (the same precedence as the model version)."""
    return os.environ.get("HYBRIDHUB_PIPELINE_ID") or os.environ.get("CI_PIPELINE_ID") or ""


def project() -> str:
    """GitLab's project path; in a local run the project the local backend names (HYBRIDHUB_PROJECT),
    since gitlab-ci-local derives CI_PROJECT_PATH from the git remote's URL; else the folder's name."""
    local = os.environ.get("HYBRIDHUB_LOCAL_RUN") == "true" and os.environ.get("HYBRIDHUB_PROJECT", "")
    return local or os.environ.get("CI_PROJECT_PATH") or Path(os.environ.get("CI_PROJECT_DIR") or os.getcwd()).name


def load(path: Path | str = LINEAGE_FILE) -> dict:
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise SystemExit(f"{path} is not valid JSON: the previous job's artifact is broken") from None
    return document if isinstance(document, dict) else {}


def merge(into: dict, part: dict) -> dict:
    """``part`` added to ``into``: nested objects merged key by key, everything else replaced."""
    for key, value in part.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value
    return into


def update(part: dict, path: Path | str = LINEAGE_FILE, fresh: bool = False) -> dict:
    """Add ``part`` (and the pipeline's commit, project and id) to lineage.json; returns the whole.
    ``fresh``: start a new file (the train job: nothing of an earlier pipeline is kept)."""
    path = Path(path)
    document = {} if fresh else load(path)
    base = {"commit": os.environ.get("CI_COMMIT_SHA", ""), "project": project(), "pipeline_id": pipeline_id()}
    for key, value in base.items():
        if value or key not in document:
            document[key] = value
    document.setdefault("reproduces", None)
    merge(document, part)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, path)  # a job killed half-way leaves the previous file, never half of one
    return document


def context_digest(paths: list[Path | str]) -> str:
    """sha256 over the image context a build would use: each file's relative path and sha256, sorted.

    What a local run records instead of an image digest (it builds no image)."""
    files = []
    for given in paths:
        given = Path(given)
        files += sorted(p for p in given.rglob("*") if p.is_file()) if given.is_dir() else [given]
    lines = sorted(f"{p.as_posix()}\0{hashlib.sha256(p.read_bytes()).hexdigest()}\n" for p in files)
    return "sha256:" + hashlib.sha256("".join(lines).encode()).hexdigest()
